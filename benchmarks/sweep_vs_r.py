"""Benchmark: toolkit.stats.sweep.comparison_sweep against R survey on the same data.

Usage::

    .venv/bin/python benchmarks/sweep_vs_r.py [--rows 25000 250000] [--r-indicators K]
                                               [--repeats 3] [--no-r]

For each size a fresh worker process generates synthetic data (60 binary indicators, about 3%
not answered; 4 equality dimensions with 2, 2, 8 and 5 groups, about 4% not stated; survey
weights), times ``comparison_sweep`` (weighted proportions with logit CIs, relative likelihoods
and differences, association off, one slice: the whole data), and, when ``Rscript`` is on PATH,
runs ``benchmarks/r_sweep.R`` (``svyby(svymean, covmat = TRUE)`` per indicator x dimension plus
the ``svycontrast`` log ratios) on the same data written as CSV. With ``--r-indicators K`` R runs
only the first K indicators and its time is scaled by 60 / K (said in the table).

Printed table: rows, Python seconds (best of ``--repeats``), R seconds, speed-up, the largest
absolute difference over estimate, SE, RL and the RL interval (R's Wald interval on the log scale,
normal quantile, as ``confint``), and peak resident memory of the worker (Python) and of R.
Benchmarks time things; tests never do.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from toolkit.stats.sweep import Grouping, comparison_sweep

HERE = Path(__file__).resolve().parent
INDICATORS = 60
DIMENSIONS = {
    "ethnicity": ({"White": 0.8, "Minority": 0.2}, "White"),
    "disability": ({"NotDisabled": 0.88, "Disabled": 0.12}, "NotDisabled"),
    "sector": (
        {"COMM": 0.40, "HOSP": 0.38, "GPPCN": 0.10, "MH": 0.04, "CHS": 0.03, "HJ": 0.02,
         "ICB": 0.02, "OTHER": 0.01},
        "HOSP",
    ),
    "career_stage": ({"PTPT": 0.15, "LT2": 0.12, "Y2TO5": 0.20, "Y5TO10": 0.20, "GT10": 0.33},
                     "GT10"),
}  # fmt: skip
NOT_STATED = 0.04
NOT_ANSWERED = 0.03


def synthetic(rows: int, seed: int = 20240626) -> pd.DataFrame:
    """Respondents with 4 group columns, weights ``w`` and indicators ``y01``..``y60``.

    Each indicator's rate is a base rate times one random multiplier per group (capped at 0.95).
    """
    rng = np.random.default_rng(seed)
    data: dict[str, object] = {}
    factors = []
    for name, (shares, _) in DIMENSIONS.items():
        labels = np.array(list(shares))
        codes = rng.choice(len(labels), size=rows, p=np.array(list(shares.values())))
        stated = rng.random(rows) >= NOT_STATED
        data[name] = np.where(stated, labels[codes], None)
        factors.append((codes, len(labels)))
    data["w"] = rng.lognormal(0.0, 0.4, rows)
    for index in range(INDICATORS):
        multiplier = np.ones(rows)
        for codes, size in factors:
            multiplier *= rng.uniform(0.8, 1.5, size)[codes]
        rate = np.minimum(rng.uniform(0.05, 0.5) * multiplier, 0.95)
        outcome = (rng.random(rows) < rate).astype(float)
        outcome[rng.random(rows) < NOT_ANSWERED] = np.nan
        data[f"y{index + 1:02d}"] = outcome
    return pd.DataFrame(data)


def groupings() -> list[Grouping]:
    """One grouping per dimension, against its reference group."""
    return [
        Grouping(name, reference, name, "benchmark") for name, (_, reference) in DIMENSIONS.items()
    ]


def time_sweep(data: pd.DataFrame, repeats: int) -> tuple[float, pd.DataFrame]:
    """Best wall time of ``repeats`` sweeps, and the sweep's table."""
    outcomes = [c for c in data.columns if c.startswith("y")]
    best = np.inf
    table = pd.DataFrame()
    for _ in range(repeats):
        started = time.perf_counter()
        table = comparison_sweep(data, outcomes=outcomes, groupings=groupings(), split_by=(), weights="w",
                                 association=False)  # fmt: skip
        best = min(best, time.perf_counter() - started)
    return best, table


def run_r(data: pd.DataFrame, indicators: list[str], folder: Path) -> tuple[float, pd.DataFrame]:
    """Run benchmarks/r_sweep.R on ``data``; its estimation seconds and its result table."""
    source, result = folder / "data.csv", folder / "r_results.csv"
    data.to_csv(source, index=False, na_rep="NA")
    command = [
        "Rscript", str(HERE / "r_sweep.R"), str(source), str(result), ",".join(indicators),
        ",".join(DIMENSIONS), ",".join(reference for _, reference in DIMENSIONS.values()),
    ]  # fmt: skip
    finished = subprocess.run(command, capture_output=True, text=True, check=True)
    seconds = float(finished.stdout.split("seconds")[-1])
    return seconds, pd.read_csv(result, keep_default_na=False, na_values=["NA"])


def max_difference(sweep: pd.DataFrame, r_table: pd.DataFrame, level: float = 0.95) -> float:
    """Largest absolute difference between the sweep and R over the numbers R gives."""
    z = stats.norm.ppf(1 - (1 - level) / 2)
    r_table = r_table.assign(
        rel_likelihood=np.exp(r_table["log_rl"]),
        rl_ci_low=np.exp(r_table["log_rl"] - z * r_table["log_rl_se"]),
        rl_ci_high=np.exp(r_table["log_rl"] + z * r_table["log_rl_se"]),
    ).rename(columns={"indicator": "outcome"})
    merged = sweep.merge(r_table, on=["outcome", "dimension", "group"], suffixes=("", "_r"))
    if len(merged) != len(r_table):
        raise RuntimeError(f"{len(r_table)} R rows but {len(merged)} matched the sweep")
    differences = []
    for column in ("estimate", "se", "rel_likelihood", "rl_ci_low", "rl_ci_high"):
        ours = merged[column].to_numpy(float)
        theirs = merged[f"{column}_r"].to_numpy(float)
        if column == "rel_likelihood":  # R has no row for the reference (ours: 1)
            ours = np.where(merged["is_reference"], np.nan, ours)
        if not np.array_equal(np.isnan(ours), np.isnan(theirs)):
            raise RuntimeError(f"{column}: missing values differ between the sweep and R")
        differences.append(np.nanmax(np.abs(ours - theirs)))
    return float(max(differences))


def peak_mb(who: int) -> float:
    """Peak resident set size in MB (Linux reports kilobytes)."""
    return resource.getrusage(who).ru_maxrss / 1024


def worker(rows: int, repeats: int, r_indicators: int | None, use_r: bool) -> dict[str, object]:
    """One size: generate, time the sweep, run R, compare; returns the table row."""
    data = synthetic(rows)
    seconds, sweep = time_sweep(data, repeats)
    row: dict[str, object] = {
        "rows": rows,
        "python_s": seconds,
        "python_peak_mb": peak_mb(resource.RUSAGE_SELF),
    }
    if not use_r or shutil.which("Rscript") is None:
        return row | {"r_s": None, "r_note": "Rscript not run"}
    indicators = [c for c in data.columns if c.startswith("y")][: r_indicators or INDICATORS]
    with tempfile.TemporaryDirectory() as folder:
        r_seconds, r_table = run_r(data, indicators, Path(folder))
    scale = INDICATORS / len(indicators)
    return row | {
        "r_s": r_seconds * scale,
        "r_note": "" if scale == 1 else f"R ran {len(indicators)} indicators, time x {scale:g}",
        "max_abs_diff": max_difference(sweep, r_table),
        "r_peak_mb": peak_mb(resource.RUSAGE_CHILDREN),
    }


def print_table(results: list[dict[str, object]]) -> None:
    """The benchmark table, one line per size."""
    print(f"{'rows':>9} {'python s':>9} {'R s':>8} {'speed-up':>9} {'max |diff|':>11} "
          f"{'py peak MB':>11} {'R peak MB':>10}  note")  # fmt: skip
    for r in results:
        r_s = r.get("r_s")
        speed = f"{r_s / r['python_s']:.0f}x" if r_s else "-"
        diff = f"{r['max_abs_diff']:.1e}" if "max_abs_diff" in r else "-"
        r_text = f"{r_s:.2f}" if r_s else "-"
        r_peak = f"{r['r_peak_mb']:.0f}" if "r_peak_mb" in r else "-"
        print(f"{r['rows']:>9,} {r['python_s']:>9.3f} {r_text:>8} {speed:>9} {diff:>11} "
              f"{r['python_peak_mb']:>11.0f} {r_peak:>10}  {r.get('r_note', '')}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[25_000, 250_000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--r-indicators", type=int, default=None)
    parser.add_argument("--no-r", action="store_true")
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.repeats, args.r_indicators, not args.no_r)))
        return
    results = []
    for rows in args.rows:
        command = [sys.executable, __file__, "--worker", str(rows), "--repeats", str(args.repeats)]
        command += ["--r-indicators", str(args.r_indicators)] if args.r_indicators else []
        command += ["--no-r"] if args.no_r else []
        finished = subprocess.run(command, capture_output=True, text=True, check=True)
        results.append(json.loads(finished.stdout.strip().splitlines()[-1]))
    print_table(results)


if __name__ == "__main__":
    main()
