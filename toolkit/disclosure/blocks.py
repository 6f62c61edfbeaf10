"""Linear algebra for secondary suppression: which unknowns a set of additive relations pins.

A block's relations are the rows of a sparse matrix ``A`` (one column per variable: published
cells first, then unpublished totals and parents); each row reads ``sum(A[r, j] * x_j) = 0``.
Given which variables are unknown to a reader (the others are printed), variable ``j`` is
*determined* when every solution of the relations agrees on it: ``e_j`` lies in the row space of
``A`` restricted to the unknown columns, equivalently row ``j`` of a basis of that matrix's null
space is zero. The unknown columns split into connected components (two unknowns are connected
when a relation holds both); each component is solved on its own with one small dense null
space, so a round costs one decomposition per component rather than one per cell.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import null_space
from scipy.sparse import csc_array, csr_array
from scipy.sparse.csgraph import connected_components

TOLERANCE = 1e-9


def components(sub: csc_array) -> list[tuple[np.ndarray, np.ndarray]]:
    """Connected components of ``sub``'s columns: ``(column indices, row indices)`` pairs.

    Two columns are connected when some row has a non-zero in both; a column in no row forms
    a component with no rows.
    """
    n_rows, n_cols = sub.shape
    if n_cols == 0:
        return []
    rows = csr_array(sub)
    # bipartite graph: nodes 0..n_cols-1 are columns, n_cols.. are rows
    coo = rows.tocoo()
    graph = csr_array((np.ones(coo.nnz), (coo.col, coo.row + n_cols)), shape=(n_cols + n_rows,) * 2)
    _, labels = connected_components(graph, directed=False)
    col_labels, row_labels = labels[:n_cols], labels[n_cols:]
    order = np.argsort(col_labels, kind="stable")
    groups = np.split(order, np.flatnonzero(np.diff(col_labels[order])) + 1)
    row_order = np.argsort(row_labels, kind="stable")
    by_label = {
        int(row_labels[chunk[0]]): chunk
        for chunk in np.split(row_order, np.flatnonzero(np.diff(row_labels[row_order])) + 1)
        if len(chunk)
    }
    empty = np.zeros(0, dtype=int)
    return [(cols, by_label.get(int(col_labels[cols[0]]), empty)) for cols in groups]


def _reduce(sub: csc_array, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Shrink the system exactly before any decomposition.

    * A row with one unknown left pins it: it is determined, and as good as printed.
    * An unknown outside ``keep`` (an unpublished total or remainder, which nobody asks
      about) held by one row only can always absorb that row: the row and the unknown leave,
      and the other unknowns are exactly as free as before.

    Returns the pinned columns (mask), and the indices of the columns and rows left.
    """
    n_rows, n_cols = sub.shape
    by_row = csr_array(sub)
    row_vars = [set(by_row.indices[by_row.indptr[r] : by_row.indptr[r + 1]]) for r in range(n_rows)]
    col_rows = [set(sub.indices[sub.indptr[c] : sub.indptr[c + 1]]) for c in range(n_cols)]
    row_on = np.ones(n_rows, dtype=bool)
    col_on = np.ones(n_cols, dtype=bool)
    pinned = np.zeros(n_cols, dtype=bool)
    rows = [r for r in range(n_rows) if len(row_vars[r]) <= 1]
    cols = [c for c in range(n_cols) if not keep[c] and len(col_rows[c]) == 1]

    def drop_row(r: int) -> None:
        row_on[r] = False
        for c in row_vars[r]:
            col_rows[c].discard(r)
            if col_on[c] and not keep[c] and len(col_rows[c]) == 1:
                cols.append(c)
        row_vars[r] = set()

    def drop_col(c: int) -> None:
        col_on[c] = False
        for r in col_rows[c]:
            row_vars[r].discard(c)
            if row_on[r] and len(row_vars[r]) <= 1:
                rows.append(r)
        col_rows[c] = set()

    while rows or cols:
        if rows:
            r = rows.pop()
            if not row_on[r] or len(row_vars[r]) > 1:
                continue
            single = list(row_vars[r])
            drop_row(r)
            if single and col_on[single[0]]:
                pinned[single[0]] = True
                drop_col(single[0])
            continue
        c = cols.pop()
        if not col_on[c] or keep[c] or len(col_rows[c]) != 1:
            continue
        (r,) = col_rows[c]
        drop_row(r)
        drop_col(c)
    return pinned, np.flatnonzero(col_on), np.flatnonzero(row_on)


def determined(matrix: csr_array, unknown: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Which unknown variables the relations pin, given the ``unknown`` mask.

    Args:
        matrix: relations x variables (sparse).
        unknown: boolean mask over the variables; the others are known.
        keep: boolean mask of the variables whose status matters most (the suppressed cells);
            an unknown outside it that is held by one relation only is eliminated with that
            relation and reported as not pinned (it could be, through the others together).

    Returns:
        Boolean mask over the variables: ``True`` for an unknown that every solution agrees
        on.
    """
    out = np.zeros(len(unknown), dtype=bool)
    index = np.flatnonzero(unknown)
    if not len(index):
        return out
    sub = csc_array(matrix[:, index])
    pinned, cols_left, rows_left = _reduce(sub, keep[index])
    out[index[pinned]] = True
    core = csc_array(sub[rows_left][:, cols_left])
    for cols, rows in components(core):
        if not len(rows):
            continue
        if len(cols) == 1:
            out[index[cols_left[cols[0]]]] = True
            continue
        basis = null_space(core[rows][:, cols].toarray())
        fixed = (
            np.ones(len(cols), dtype=bool)
            if basis.shape[1] == 0
            else np.abs(basis).max(axis=1) < TOLERANCE
        )
        out[index[cols_left[cols[fixed]]]] = True
    return out


def fill(matrix: csr_array, values: np.ndarray) -> np.ndarray:
    """Values of the variables left NaN, solved from relations that hold exactly one of them.

    Repeats until no relation has a single NaN left; variables it cannot reach stay NaN. Used
    for the true size of an unpublished total or parent (a sum of published cells).
    """
    values = values.astype(float).copy()
    indptr, indices, data = matrix.indptr, matrix.indices, matrix.data
    changed = True
    while changed:
        changed = False
        for r in range(matrix.shape[0]):
            cols = indices[indptr[r] : indptr[r + 1]]
            missing = np.isnan(values[cols])
            if missing.sum() != 1:
                continue
            coef = data[indptr[r] : indptr[r + 1]]
            j = int(np.flatnonzero(missing)[0])
            rest = float(np.dot(coef[~missing], values[cols[~missing]]))
            values[cols[j]] = -rest / coef[j]
            changed = True
    return values
