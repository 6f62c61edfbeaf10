"""Partially pooled (shrunken) rates for small groups, from cell-level counts.

A *cell* is one combination of ``group``, the ``crossed`` columns (e.g. region) and the
``covariates``; it carries its trials ``n_c`` and ``events`` ``y_c`` (the sufficient statistics
of a binomial model), so the fits never see respondents. Two methods:

``method="glmm"``: multilevel logistic model with crossed random intercepts, fitted by maximum
likelihood with the Laplace approximation, as ``lme4::glmer(cbind(events, n - events) ~ covariates
+ (1 | group) + (1 | region), family = binomial, nAGQ = 1)`` (Bates, Maechler, Bolker, Walker
(2015), "Fitting linear mixed-effects models using lme4", J Stat Softw 67(1), section 5 for
GLMMs). The tests reproduce glmer to 1e-4.

* Model: ``y_c ~ Binomial(n_c, mu_c)``, ``logit(mu_c) = x_c' beta + sum_k b_k[level_k(c)]``,
  ``b_k ~ N(0, sigma_k^2 I)``. Spherical random effects ``b = Lambda u`` with
  ``Lambda = diag(sigma_k)`` per level and ``u ~ N(0, I)``; ``Z`` the 0/1 level indicators.
* Conditional mode ``u(beta, sigma)`` maximises ``sum_c log f(y_c | mu_c) - |u|^2 / 2`` (Newton
  steps ``(Lambda Z' W Z Lambda + I)^-1 (Lambda Z'(y - n mu) - u)``, ``W = diag(n_c mu_c (1 -
  mu_c))``).
* Laplace deviance ``d(beta, sigma) = -2 sum_c log f(y_c | mu_c) + |u|^2 + log det(Lambda Z' W Z
  Lambda + I)`` at that mode (the binomial log-likelihood with its binomial coefficients, so
  ``d`` is glmer's ``-2 logLik``); minimised over ``(sigma >= 0, beta)`` with L-BFGS-B and
  the analytic gradient given in :class:`_Glmm`, from ``sigma = 1`` and the fixed-effects-only
  fit. The estimate ``b = Lambda u`` is glmer's ``ranef``.
* Standard errors: ``C = [[X'WX, X'W Z Lambda], [Lambda Z'W X, Lambda Z'W Z Lambda + I]]`` at
  the optimum; fixed effects ``sqrt(diag(C^-1))`` over beta (glmer's ``vcov(use.hessian =
  FALSE)``); random effects ``sigma_k sqrt(diag((Lambda Z'WZ Lambda + I)^-1))`` (glmer's
  ``condVar``).
* Pooled estimate ``expit(x_c' beta + z_c' b)``; its interval ``expit(eta_c ± z sqrt(v_c))``
  with ``v_c = (x_c, Lambda z_c)' C^-1 (x_c, Lambda z_c)``: the prediction-error variance of
  the linear predictor (Henderson's mixed-model equations) with the fixed effects' uncertainty
  included and the variance components taken as known.

``method="beta-binomial"``: empirical Bayes. Every cell's rate ``p_c ~ Beta(a, b)``; ``a, b``
maximise the beta-binomial marginal likelihood ``sum_c [log B(a + y_c, b + n_c - y_c) -
log B(a, b)]`` (mean ``a / (a + b)`` and prior size ``a + b``, the latter searched up to
:data:`MAX_PRIOR_SIZE`). Pooled estimate the posterior mean ``(a + y_c) / (a + b + n_c)``,
interval the equal-tailed quantiles of ``Beta(a + y_c, b + n_c - y_c)``. It shrinks every cell
towards one common rate: no crossed effects, no covariates, no allowance for the uncertainty in
``a, b``. Cheap and closed-form once ``a, b`` are found.

A cell with n = 0 gets a row with NaN and a note and is left out of the fit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import linalg, optimize, special, stats

from toolkit.errors import PtwError
from toolkit.stats import methods
from toolkit.stats.models import factor

POOLED_COLUMNS = (
    "group",
    "cell",
    "n",
    "events",
    "estimate",
    "pooled",
    "ci_low",
    "ci_high",
    "ci_method",
    "method",
    "note",
)
POOLING_PARAMETER_COLUMNS = ("method", "kind", "term", "level", "estimate", "se")
METHODS = (methods.GLMM, methods.BETA_BINOMIAL)
CI_METHODS = {
    methods.GLMM: methods.LAPLACE_PREDICTION,
    methods.BETA_BINOMIAL: methods.BETA_POSTERIOR,
}
MAX_PRIOR_SIZE = 1e8
NEWTON_TOL = 1e-11
OPTIMUM_STEP = 1e-6
"""Largest Newton step (in sd or log-odds units) still counted as at the optimum."""
HESSIAN_STEP = 1e-5
"""Relative step of the finite differences of the gradient that make the Hessian."""
LINE_SEARCH_FAILED = 2
"""L-BFGS-B's status when its line search cannot decrease the function any more."""
"""L-BFGS-B's status when its line search cannot decrease the function any more."""


@dataclass(frozen=True)
class PooledEstimates:
    """Result of :func:`pooled_rates`.

    Attributes:
        cells: one row per cell, columns :data:`POOLED_COLUMNS`.
        parameters: the fitted model, columns :data:`POOLING_PARAMETER_COLUMNS`; ``kind`` is
            "fixed" (log odds), "variance" (random-intercept variance), "random" (conditional
            mode and its conditional sd), "prior" (beta-binomial ``alpha``, ``beta``) or
            "deviance" (-2 log-likelihood, Laplace for the GLMM).
        converged: whether the optimiser reported convergence.
    """

    cells: pd.DataFrame
    parameters: pd.DataFrame
    converged: bool


@dataclass(frozen=True)
class _Cells:
    labels: pd.DataFrame  # one row per cell: the cell's value of each defining column
    events: np.ndarray
    n: np.ndarray


def _cells(data: pd.DataFrame, columns: list[str], events: str, n: str) -> _Cells:
    """The cells of ``data`` by ``columns`` (first-appearance order, missing labels a level):
    rows sharing every column summed; a table whose rows are its cells is taken as it is (a
    missing count is then 0, as the sum of one missing value is)."""
    missing = [c for c in [*columns, events, n] if c not in data.columns]
    if missing:
        raise PtwError(
            code="stats.missing_column",
            message="a column named for partial pooling is not in the data",
            column=missing[0],
            fix="check the column names passed as group=, crossed=, covariates=, events=, n=",
        )
    if _distinct_rows(data, columns):
        labels = data[columns].reset_index(drop=True)
        y, m = _single_counts(data[events]), _single_counts(data[n])
    else:
        table = data.groupby(columns, sort=False, observed=True, dropna=False)[[events, n]].sum()
        labels = table.index.to_frame(index=False)
        y = table[events].to_numpy(dtype=float)
        m = table[n].to_numpy(dtype=float)
    bad = ~np.isfinite(y) | ~np.isfinite(m) | (y < 0) | (y > m)
    if bad.any():
        raise PtwError(
            code="stats.bad_pooling_counts",
            message="cell counts must be finite with 0 <= events <= n",
            column=events,
            value=f"events {y[np.argmax(bad)]:g} of n {m[np.argmax(bad)]:g}",
            fix="aggregate the respondents into cells first and remove missing values",
        )
    return _Cells(labels, y, m)


def _distinct_rows(data: pd.DataFrame, columns: list[str]) -> bool:
    """Whether ``data`` has rows and no two of them share every one of ``columns`` (missing
    counts as a value). Each column's codes are folded into one key, renumbered after each."""
    key = np.zeros(len(data), dtype=np.int64)
    for column in columns:
        codes, uniques = pd.factorize(data[column], use_na_sentinel=False)
        key = pd.factorize(key * len(uniques) + codes)[0]
    return len(data) > 0 and int(key.max()) + 1 == len(data)


def _single_counts(column: pd.Series) -> np.ndarray:
    """A count column of distinct cells as floats, a missing count read as 0 (what the sum of
    one missing value is, as the cells of repeated rows are summed)."""
    values = column.to_numpy(dtype=float, na_value=np.nan)
    return np.where(np.isnan(values), 0.0, values)


class _Glmm:
    """Laplace-approximate deviance of a binomial GLMM with random intercepts, on cells.

    Parameters are ``(theta..., beta...)`` with ``theta`` the random-intercept sds. The gradient
    is analytic: with ``A = Z Lambda``, ``H = A'WA + I``, ``P = d eta / d params`` at fixed
    ``u`` (columns ``X`` and ``Z_k u_k``), the mode moves by ``du = H^-1 (R - A'W P)`` (``R`` has
    ``Z_k'(y - n mu)`` in block k of the column for ``theta_k``), and
    ``grad = -2 P'(y - n mu) + (w' a)'(P + A du) + 2 tr_k(H^-1 Z'WA)`` where
    ``w' = n mu (1 - mu)(1 - 2 mu)``, ``a = diag(A H^-1 A')`` and ``tr_k`` sums the diagonal
    over block k (the last term only for ``theta``).
    """

    def __init__(
        self, y: np.ndarray, m: np.ndarray, x: np.ndarray, blocks: list[np.ndarray]
    ) -> None:
        self.y, self.m, self.x = y, m, x
        self.log_choose = (
            special.gammaln(m + 1) - special.gammaln(y + 1) - special.gammaln(m - y + 1)
        ).sum()
        sizes = [int(codes.max()) + 1 for codes in blocks]
        self.k = len(blocks)
        self.block = np.repeat(np.arange(self.k), sizes)
        offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        # Column of Z holding each cell's level of each term: shape (cells, terms).
        self.index = np.column_stack(blocks) + offsets
        self.q = sum(sizes)
        # Each cell's pairs of Z columns, for Z'WZ by one bincount.
        self.pairs = (self.index[:, :, None] * self.q + self.index[:, None, :]).ravel()
        self.eye = np.eye(self.q)
        self.u = np.zeros(self.q)

    # Z has one 1 per term in each row, so products with A = Z Lambda are gathers and bincounts
    # (no dense BLAS calls, which are slower multi-threaded than single-threaded at these sizes).
    def _times_a(self, theta: np.ndarray, v: np.ndarray) -> np.ndarray:
        """``A v`` for a vector or a matrix ``v`` (rows indexed by Z's columns)."""
        scale = theta.reshape((1, -1) + (1,) * (v.ndim - 1))
        return (v[self.index] * scale).sum(axis=1)

    def _a_times(self, theta: np.ndarray, v: np.ndarray) -> np.ndarray:
        """``A' v`` for a vector or a matrix ``v`` (rows indexed by cells)."""
        if v.ndim == 2:
            return np.column_stack([self._a_times(theta, column) for column in v.T])
        weights = (v[:, None] * theta[None, :]).ravel()
        return np.bincount(self.index.ravel(), weights=weights, minlength=self.q)

    def _h(self, theta: np.ndarray, w: np.ndarray) -> np.ndarray:
        """``A'WA + I``."""
        weights = (w[:, None, None] * theta[None, :, None] * theta[None, None, :]).ravel()
        return (
            np.bincount(self.pairs, weights=weights, minlength=self.q**2).reshape(self.q, self.q)
            + self.eye
        )

    def loglik(self, eta: np.ndarray) -> float:
        """Binomial log-likelihood at logit ``eta``, binomial coefficients included."""
        return float(self.log_choose + self.y @ eta - self.m @ np.logaddexp(0, eta))

    def mode(self, params: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Conditional mode ``u`` (damped Newton, warm-started) and ``eta``."""
        theta = params[: self.k]
        offset = self.x @ params[self.k :]
        u = self.u
        eta = offset + self._times_a(theta, u)
        current = self.loglik(eta) - u @ u / 2
        for _ in range(100):
            mu = special.expit(eta)
            h = self._h(theta, self.m * mu * (1 - mu))
            gradient = self._a_times(theta, self.y - self.m * mu) - u
            step = np.linalg.solve(h, gradient)
            scale = 1.0
            while True:
                trial_u = u + scale * step
                trial_eta = offset + self._times_a(theta, trial_u)
                trial = self.loglik(trial_eta) - trial_u @ trial_u / 2
                if trial >= current - 1e-10 or scale < 1e-8:
                    break
                scale /= 2
            u, eta, current = trial_u, trial_eta, trial
            if np.max(np.abs(scale * step)) < NEWTON_TOL:
                break
        self.u = u
        return u, eta

    def deviance_and_gradient(self, params: np.ndarray) -> tuple[float, np.ndarray]:
        """Laplace deviance at ``params`` and its gradient (see the class docstring)."""
        theta = params[: self.k]
        u, eta = self.mode(params)
        mu = special.expit(eta)
        w = self.m * mu * (1 - mu)
        h = self._h(theta, w)
        deviance = -2 * self.loglik(eta) + u @ u + np.linalg.slogdet(h)[1]
        h_inv = np.linalg.inv(h)
        residual = self.y - self.m * mu
        p = np.hstack([u[self.index], self.x])
        r = np.zeros((self.q, len(params)))
        r[np.arange(self.q), self.block] = self._a_times(np.ones(self.k), residual)
        du = h_inv @ (r - self._a_times(theta, w[:, None] * p))
        # g[c, l, k] = H^-1 between cell c's level of term l and of term k.
        g = h_inv[self.index[:, :, None], self.index[:, None, :]]
        leverage = np.einsum("clk,l,k->c", g, theta, theta)
        gradient = -2 * p.T @ residual + (w * (1 - 2 * mu) * leverage) @ (
            p + self._times_a(theta, du)
        )
        gradient[: self.k] += 2 * np.einsum("c,clk,l->k", w, g, theta)
        return deviance, gradient

    def fit(self, start_beta: np.ndarray) -> tuple[np.ndarray, bool]:
        """Minimise the deviance from ``sigma = 1`` and the fixed-effects-only fit.

        The deviance depends on each sd only through its square (``b = Lambda u`` with ``u``
        symmetric: ``u(-sigma) = -u(sigma)``), so the sds are searched without bounds and their
        absolute values returned. With a bound at 0 (as before) ``sigma_k = 0`` traps the
        search: the gradient there is 0, so once a step is projected onto the bound the search
        stays, also when the deviance falls as ``sigma_k`` grows (seen on the demo: a fit
        stopped at sds (0, 0), deviance 92.4967, where glmer finds (0, 0.0228) and 92.4776).

        Converged: L-BFGS-B reports success, or it stopped because its line search could no
        longer decrease the deviance (it cannot resolve changes below about 1e-13 of the
        deviance; near the optimum of a fit with large cells that happens while a gradient
        entry is still a few 1e-6, above ``gtol``) and the point passes :meth:`at_optimum`.
        """
        found = optimize.minimize(
            self.deviance_and_gradient,
            np.concatenate([np.ones(self.k), start_beta]),
            method="L-BFGS-B",
            jac=True,
            options={"ftol": 1e-12, "gtol": 1e-6, "maxiter": 1000},
        )
        params = found.x.copy()
        params[: self.k] = np.abs(params[: self.k])
        stalled = found.status == LINE_SEARCH_FAILED
        return params, bool(found.success) or (stalled and self.at_optimum(params))

    def at_optimum(self, params: np.ndarray) -> bool:
        """Second-order check that ``params`` is the minimum of the deviance.

        With ``g`` the gradient and ``H`` the Hessian (central differences of the analytic
        gradient), ``params`` is the minimum when ``H`` is positive definite and the Newton step
        ``H^-1 g`` to the exact minimum moves no parameter by more than :data:`OPTIMUM_STEP`
        (lme4 accepts a scaled gradient ``H^-1 g`` up to 2e-3).
        """
        gradient = self.deviance_and_gradient(params)[1]
        hessian = np.empty((len(params), len(params)))
        for j in range(len(params)):
            step = np.zeros(len(params))
            step[j] = HESSIAN_STEP * max(1.0, abs(params[j]))
            hessian[:, j] = (
                self.deviance_and_gradient(params + step)[1]
                - self.deviance_and_gradient(params - step)[1]
            ) / (2 * step[j])
        self.mode(params)  # leave the warm start at the optimum's mode
        hessian = (hessian + hessian.T) / 2
        if np.linalg.eigvalsh(hessian).min() <= 0:
            return False
        return bool(np.max(np.abs(np.linalg.solve(hessian, gradient))) < OPTIMUM_STEP)


def _fixed_start(y: np.ndarray, m: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Fixed-effects-only logistic fit on the cells (Newton), to start the GLMM search."""
    beta = np.zeros(x.shape[1])
    beta[0] = special.logit((y.sum() + 0.5) / (m.sum() + 1))
    for _ in range(50):
        mu = special.expit(x @ beta)
        step = linalg.solve((x.T * (m * mu * (1 - mu))) @ x, x.T @ (y - m * mu))
        beta += step
        if np.max(np.abs(step)) < NEWTON_TOL:
            break
    return beta


def _fit_glmm(
    cells: _Cells,
    fitted: np.ndarray,
    random_terms: list[str],
    covariates: list[tuple[str, str | None]],
    z_crit: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[dict[str, object]], bool]:
    """(pooled, ci_low, ci_high) for the fitted cells, the parameter rows, convergence."""
    labels = cells.labels[fitted].reset_index(drop=True)
    y, m = cells.events[fitted], cells.n[fitted]
    blocks, levels = [], []
    for term in random_terms:
        codes, uniques = pd.factorize(labels[term].astype(str), sort=True)
        blocks.append(codes)
        levels.append([str(v) for v in uniques])
    columns, names = [np.ones(len(y))], [("(Intercept)", "")]
    for column, reference in covariates:
        f = factor(labels, column, reference)
        for code, level in enumerate(f.levels):
            if level != f.reference:
                columns.append((f.codes == code).astype(float))
                names.append((column, level))
    x = np.column_stack(columns)
    model = _Glmm(y, m, x, blocks)
    params, converged = model.fit(_fixed_start(y, m, x))
    k = len(random_terms)
    theta, beta = params[:k], params[k:]
    u, eta = model.mode(params)
    zl = np.zeros((len(y), model.q))
    for term in range(k):
        zl[np.arange(len(y)), model.index[:, term]] = theta[term]
    mu = special.expit(eta)
    w = m * mu * (1 - mu)
    design = np.hstack([x, zl])
    c = design.T @ (w[:, None] * design)
    c[x.shape[1] :, x.shape[1] :] += np.eye(len(u))
    c_inv = linalg.inv(c)
    h_inv = linalg.inv(c[x.shape[1] :, x.shape[1] :])
    half = z_crit * np.sqrt(np.einsum("ij,jk,ik->i", design, c_inv, design))
    b = theta[model.block] * u
    b_sd = theta[model.block] * np.sqrt(np.diag(h_inv))
    rows: list[dict[str, object]] = [
        {"kind": "fixed", "term": term, "level": level, "estimate": value, "se": se}
        for (term, level), value, se in zip(
            names, beta, np.sqrt(np.diag(c_inv)[: x.shape[1]]), strict=True
        )
    ]
    rows += [
        {"kind": "variance", "term": term, "level": "", "estimate": s**2, "se": np.nan}
        for term, s in zip(random_terms, theta, strict=True)
    ]
    position = 0
    for term, term_levels in zip(random_terms, levels, strict=True):
        for level in term_levels:
            rows.append(
                {
                    "kind": "random",
                    "term": term,
                    "level": level,
                    "estimate": b[position],
                    "se": b_sd[position],
                }
            )
            position += 1
    rows.append(
        {
            "kind": "deviance",
            "term": "-2 log-likelihood",
            "level": "",
            "estimate": model.deviance_and_gradient(params)[0],
            "se": np.nan,
        }
    )
    return mu, special.expit(eta - half), special.expit(eta + half), rows, converged


def _fit_beta_binomial(
    cells: _Cells, fitted: np.ndarray, level: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[dict[str, object]], bool]:
    """(pooled, ci_low, ci_high) for the fitted cells, the prior rows, convergence."""
    y, m = cells.events[fitted], cells.n[fitted]

    def minus_loglik(params: np.ndarray) -> tuple[float, np.ndarray]:
        """Minus the marginal log-likelihood in (logit mean, log size), and its gradient."""
        mean, size = special.expit(params[0]), np.exp(params[1])
        a, b = mean * size, (1 - mean) * size
        common = special.digamma(size) - special.digamma(size + m)
        d_a = np.sum(special.digamma(a + y) - special.digamma(a) + common)
        d_b = np.sum(special.digamma(b + m - y) - special.digamma(b) + common)
        value = np.sum(special.betaln(a + y, b + m - y) - special.betaln(a, b))
        gradient = np.array([size * mean * (1 - mean) * (d_a - d_b), a * d_a + b * d_b])
        return -float(value), -gradient

    start = np.array([special.logit((y.sum() + 0.5) / (m.sum() + 1)), np.log(10.0)])
    found = optimize.minimize(
        minus_loglik,
        start,
        method="L-BFGS-B",
        jac=True,
        bounds=[(None, None), (np.log(1e-3), np.log(MAX_PRIOR_SIZE))],
        options={"ftol": 1e-13, "gtol": 1e-8},
    )
    size = np.exp(found.x[1])
    a = special.expit(found.x[0]) * size
    b = size - a
    tail = (1 - level) / 2
    rows: list[dict[str, object]] = [
        {"kind": "prior", "term": "alpha", "level": "", "estimate": a, "se": np.nan},
        {"kind": "prior", "term": "beta", "level": "", "estimate": b, "se": np.nan},
        {
            "kind": "deviance",
            "term": "-2 log-likelihood",
            "level": "",
            "estimate": 2 * found.fun
            - 2
            * float(
                np.sum(special.gammaln(m + 1) - special.gammaln(y + 1) - special.gammaln(m - y + 1))
            ),
            "se": np.nan,
        },
    ]
    return (
        (a + y) / (a + b + m),
        stats.beta.ppf(tail, a + y, b + m - y),
        stats.beta.ppf(1 - tail, a + y, b + m - y),
        rows,
        bool(found.success),
    )


@dataclass(frozen=True)
class PooledFit:
    """Result of :func:`pooled_fit`: the fit on arrays, one entry per cell (cells in order of
    first appearance in the data).

    Attributes:
        labels: each cell's value of the group, crossed and covariate columns.
        events, n: each cell's counts.
        pooled, ci_low, ci_high: the pooled estimate and its interval (NaN where n = 0).
        parameters: the parameter rows (:data:`POOLING_PARAMETER_COLUMNS` but ``method``).
        converged: whether the optimiser reported convergence.
    """

    labels: pd.DataFrame
    events: np.ndarray
    n: np.ndarray
    pooled: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    parameters: list[dict[str, object]]
    converged: bool


def pooled_fit(
    data: pd.DataFrame,
    *,
    group: str,
    events: str = "events",
    n: str = "n",
    crossed: str | Sequence[str] = (),
    covariates: Sequence[str] = (),
    references: Mapping[str, str] | None = None,
    method: str = "glmm",
    level: float = 0.95,
) -> PooledFit:
    """:func:`pooled_rates` without its tables: the same inputs, the fit as arrays
    (:class:`PooledFit`), for callers that fit many small tables."""
    if method not in METHODS:
        raise PtwError(
            code="stats.bad_option",
            message="unknown partial pooling method",
            value=method,
            expected=f"one of {METHODS}",
            fix='use method="glmm" (multilevel model) or "beta-binomial" (empirical Bayes)',
        )
    crossed_columns = [crossed] if isinstance(crossed, str) else list(crossed)
    chosen = references or {}
    covariate_references = [(column, chosen.get(column)) for column in covariates]
    if method == methods.BETA_BINOMIAL and covariate_references:
        raise PtwError(
            code="stats.bad_option",
            message="the beta-binomial method has no covariates",
            value=[c for c, _ in covariate_references],
            fix='use method="glmm" to adjust for covariates',
        )
    columns = [group, *crossed_columns, *(c for c, _ in covariate_references)]
    cells = _cells(data, columns, events, n)
    fitted = cells.n > 0
    pooled = np.full(len(cells.n), np.nan)
    low, high = pooled.copy(), pooled.copy()
    rows: list[dict[str, object]] = []
    converged = False
    if fitted.any():
        if method == methods.GLMM:
            z_crit = stats.norm.ppf(1 - (1 - level) / 2)
            fit = _fit_glmm(cells, fitted, [group, *crossed_columns], covariate_references, z_crit)
        else:
            fit = _fit_beta_binomial(cells, fitted, level)
        pooled[fitted], low[fitted], high[fitted], rows, converged = fit
    return PooledFit(cells.labels, cells.events, cells.n, pooled, low, high, rows, converged)


def pooled_rates(
    data: pd.DataFrame,
    *,
    group: str,
    events: str = "events",
    n: str = "n",
    crossed: str | Sequence[str] = (),
    covariates: Sequence[str] = (),
    references: Mapping[str, str] | None = None,
    method: str = "glmm",
    level: float = 0.95,
) -> PooledEstimates:
    """Partially pooled rates per cell of ``group`` x ``crossed`` x ``covariates``.

    Inputs: ``data`` with counts (rows sharing every cell column are summed); ``group`` the
    group column (a random intercept); ``events`` and ``n`` the count columns; ``crossed``
    further columns with crossed random intercepts (e.g. "region"); ``covariates`` categorical
    fixed-effect columns (GLMM only) and ``references`` their reference levels (a covariate
    left out takes its largest level, as :func:`toolkit.stats.logistic` does); ``method`` ("glmm" or "beta-binomial"); ``level`` of the intervals. Formulas and
    sources in the module docstring.
    Output: :class:`PooledEstimates`. ``cells`` has one row per cell (columns
    :data:`POOLED_COLUMNS`, ``cell`` the cell's labels joined with " × ", group first): the raw
    ``estimate`` events / n, the ``pooled`` estimate and its interval. A cell with n = 0 has NaN
    and a note.
    """
    fit = pooled_fit(data, group=group, events=events, n=n, crossed=crossed,
                     covariates=covariates, references=references, method=method, level=level)  # fmt: skip
    fitted = fit.n > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        raw = np.where(fitted, fit.events / fit.n, np.nan)
    cell_labels = fit.labels.iloc[:, 0].astype(str)
    for column in fit.labels.columns[1:]:
        cell_labels = cell_labels + " × " + fit.labels[column].astype(str)
    table = pd.DataFrame(
        {
            "group": fit.labels[group].to_list(),
            "cell": cell_labels.to_list(),
            "n": fit.n,
            "events": fit.events,
            "estimate": raw,
            "pooled": fit.pooled,
            "ci_low": fit.ci_low,
            "ci_high": fit.ci_high,
            "ci_method": CI_METHODS[method],
            "method": method,
            "note": np.where(fitted, "", "no respondents (n = 0): not estimated"),
        },
        columns=list(POOLED_COLUMNS),
    )
    parameters = pd.DataFrame(fit.parameters, columns=list(POOLING_PARAMETER_COLUMNS[1:]))
    parameters.insert(0, "method", method)
    return PooledEstimates(table, parameters, fit.converged)
