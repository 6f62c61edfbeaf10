"""The release gate's feasibility solves on a block where HiGHS's interior-point solver never
returned.

The block (``fixtures/ipx_hang_block.mps.gz``, 3,184 unknowns and 4,992 relations with
coefficients +-1) was written out by a watchdog from `ptw analyse` on the demo generator's
100,000 responses x 5 cycles, where the release gate hung in most runs: IPX (HiGHS 1.15) never
leaves its basis heuristic on it. ``_feasible_points`` must still give a point of it: past its
deadline it stops the interior-point solves and uses the simplex. The solves run in a child
process with a deadline of their own, so that a regression fails the test instead of hanging
the suite.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

FIXTURE = Path(__file__).parent / "fixtures" / "ipx_hang_block.mps.gz"

SOLVE = """
import gzip, sys, tempfile
import highspy
import numpy as np
from toolkit.disclosure import audit

with tempfile.NamedTemporaryFile(suffix=".mps") as mps:
    mps.write(gzip.decompress(open(sys.argv[1], "rb").read()))
    mps.flush()
    reader = highspy.Highs()
    reader.setOptionValue("output_flag", False)
    reader.readModel(mps.name)
lp = reader.getLp()
start, index, value = (np.asarray(a) for a in (lp.a_matrix_.start_, lp.a_matrix_.index_,
                                               lp.a_matrix_.value_))
system = audit._System()
one = system.var(("one",))
system.publish(one, 1.0, "constant")
columns = [system.var(("x", j)) for j in range(lp.num_col_)]
rows = [dict() for _ in range(lp.num_row_)]
for j in range(lp.num_col_):
    for k in range(start[j], start[j + 1]):
        rows[index[k]][columns[j]] = float(value[k])
for i, terms in enumerate(rows):
    terms[one] = -float(lp.row_upper_[i])
    system.add("fixture", terms, bool(lp.row_lower_[i] == lp.row_upper_[i]))
block = audit._Block(columns, list(range(lp.num_row_)))
audit._IPM_SECONDS = float(sys.argv[2])
(point,) = audit._feasible_points(system, [block])
x = np.array([point[v] for v in columns])
print(len(point), int((x < -1e-9).sum()), len(audit._broken(system, point)))
"""


@pytest.mark.parametrize("deadline", [0.0, 5.0], ids=["simplex at once", "after the deadline"])
def test_a_block_that_hung_the_interior_point_solver_gets_a_feasible_point(deadline: float) -> None:
    try:
        done = subprocess.run(
            [sys.executable, "-c", SOLVE, str(FIXTURE), str(deadline)],
            capture_output=True, text=True, timeout=120, check=True,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        pytest.fail("the feasibility solves did not return within 120 s (the deadline is 5 s)")
    found, negative, broken = (int(word) for word in done.stdout.split())
    assert found == 3184, "a point for every unknown"
    assert negative == 0, "unknowns are counts: none below zero"
    assert broken == 0, "the point keeps every relation to the auditor's tolerance"
