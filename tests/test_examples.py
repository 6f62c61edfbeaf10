"""The researcher examples in analysis/examples that need no workspace run as a user runs them.

(``custom_analysis.py`` needs a demo workspace and is run by tests/test_end_to_end.py.)
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
REAL = REPO / ".." / "shared" / "real-data"


def test_published_counts_example_reads_the_real_table_and_compares_groups() -> None:
    source = REAL / "csps2016_results_by_demographic_groups.csv"
    if not source.is_file():
        message = f"real data missing: {source.resolve()}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    result = subprocess.run(
        [sys.executable, str(REPO / "analysis" / "examples" / "published_counts.py")],
        capture_output=True, text=True, check=False, cwd=REPO,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    # CSPS 2016, ethnicity (binary): 25,106 BAME and 220,419 White responses; discrimination
    # 15% and 12%, so RL = 0.15 / 0.12 = 1.25 on the rounded events 3766 / 25106 vs 26450 / 220419
    assert "BAME  25106    3766" in result.stdout
    assert "1.2500" in result.stdout and "katz-log" in result.stdout
