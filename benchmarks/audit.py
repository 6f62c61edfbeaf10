"""Time the independent disclosure auditor (issue 11) on synthetic releases.

For each size, a workspace is generated and ingested with the real `ptw ingest` (not timed), the
analysis runs in-process (not timed; ``run_plan`` already attacks the release with the true
values and refuses one it can break), then :func:`toolkit.disclosure.audit.attack` is timed on
every table of the release as an outside reader would run it, without the true values.
Prints cells attacked, cells recovered by route, seconds and the 1-minute load average before
and after (the machine is shared).

    .venv/bin/python benchmarks/audit.py                       # demo size: 5,000 x 3 cycles
    .venv/bin/python benchmarks/audit.py --sizes 100000 --cycles 2021-2025
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from run import SURVEYS, ptw, timed  # benchmarks/run.py

from toolkit.analysis.plan import load_plan
from toolkit.analysis.runner import run_plan
from toolkit.config import init_workspace, load_workspace
from toolkit.disclosure.audit import attack, summary
from toolkit.disclosure.suppression import SuppressionPolicy
from toolkit.instruments.model import instrument_path, load_instrument
from toolkit.resources import surveys_dir
from toolkit.store.database import ResponseStore
from toolkit.synth.responses import parse_cycles, spec_for, write_platform_exports


def release(size: int, cycles: tuple[int, ...], folder: Path) -> tuple[dict, int]:
    """The suppressed tables of a synthetic workspace, and its threshold."""
    init_workspace(folder)
    exports = folder / "exports"
    instruments = {name: load_instrument(instrument_path(surveys_dir(), name)) for name in SURVEYS}
    write_platform_exports(spec_for(cycles, size), instruments, exports)
    for survey in SURVEYS:
        for cycle in cycles:
            files = sorted(str(p) for p in exports.glob(f"{survey}_{cycle}_*.csv"))
            timed(ptw("ingest", *files, "--survey", survey, "--cycle", str(cycle),
                      "--workspace", str(folder)))  # fmt: skip
    space = load_workspace(folder)
    policy = SuppressionPolicy(threshold=space.threshold, rounding=space.rounding)
    with ResponseStore(space.store_path, read_only=True) as store:
        bundle = run_plan(load_plan(space.plan_path), store=store, surveys_dir=space.surveys_dir,
                          policy=policy, plan_dir=space.plan_path.parent)  # fmt: skip
    return bundle.tables, space.threshold


def main() -> None:
    parser = argparse.ArgumentParser(description="Time the disclosure auditor.")
    parser.add_argument(
        "--sizes", default="5000", help="responses per survey per cycle, e.g. 5000,100000"
    )
    parser.add_argument("--cycles", default="2023-2025", help="e.g. 2023-2025 or 2021-2025")
    options = parser.parse_args()
    cycles = parse_cycles(options.cycles)
    for size in (int(s) for s in options.sizes.split(",")):
        with tempfile.TemporaryDirectory(prefix="ptw-audit-bench-") as folder:
            tables, threshold = release(size, cycles, Path(folder))
            load_before = os.getloadavg()[0]
            started = time.perf_counter()
            result = attack(tables, threshold=threshold)
            seconds = time.perf_counter() - started
            load_after = os.getloadavg()[0]
        print(f"{size:,} responses x {len(cycles)} cycles: {len(result):,} counts attacked, "
              f"{int((~result['protected']).sum()):,} recovered {summary(result)}; "
              f"{seconds:.1f} s; load {load_before:.1f} -> {load_after:.1f}")  # fmt: skip


if __name__ == "__main__":
    main()
