"""Time what issue 15's small-numbers tables add to `ptw analyse` (funnels and pooled estimates).

For each size: synthetic exports ingested with `ptw ingest` (not timed), then `ptw analyse`
twice in its own process, with the default plan (small numbers on) and with the plan's
`small_numbers` switched off, and the small-numbers step alone in this process on the
written bundle's comparisons (:func:`toolkit.analysis.runner.small_numbers`). The step alone is
the cleaner figure on a shared machine: the two whole runs differ by it plus noise.

    .venv/bin/python benchmarks/small_numbers.py                          # the demo: 5,000 x 3
    .venv/bin/python benchmarks/small_numbers.py --sizes 100000 --cycles 2021-2025
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import pandas as pd
from run import SURVEYS, ptw, timed

from toolkit.analysis.plan import load_plan
from toolkit.analysis.runner import small_numbers
from toolkit.config import init_workspace
from toolkit.instruments.model import instrument_path, load_instrument
from toolkit.resources import analysis_dir, surveys_dir
from toolkit.synth.responses import parse_cycles, spec_for, write_platform_exports


def _load() -> str:
    return f"{os.getloadavg()[0]:.1f}"


def bench(size: int, cycles: tuple[int, ...], folder: Path) -> dict[str, object]:
    """Analyse with and without small numbers, and the step alone, on one workspace."""
    space = init_workspace(folder)
    exports = folder / "exports"
    instruments = {name: load_instrument(instrument_path(surveys_dir(), name)) for name in SURVEYS}
    write_platform_exports(spec_for(cycles, size), instruments, exports)
    for survey in SURVEYS:
        for cycle in cycles:
            files = sorted(str(p) for p in exports.glob(f"{survey}_{cycle}_*.csv"))
            timed(ptw("ingest", *files, "--survey", survey, "--cycle", str(cycle),
                      "--workspace", str(space.root)))  # fmt: skip
    plan_text = (analysis_dir() / "plan.yaml").read_text(encoding="utf-8")
    off = plan_text.replace("funnels: true", "funnels: false").replace(
        "pooling: true", "pooling: false"
    )
    (folder / "plan_off.yaml").write_text(off, encoding="utf-8")
    config = folder / "ptw.toml"
    default = config.read_text(encoding="utf-8")
    config.write_text(default.replace('plan = ""', 'plan = "plan_off.yaml"'), encoding="utf-8")
    load_off = _load()
    off_seconds, _ = timed(ptw("analyse", "--workspace", str(space.root)))
    config.write_text(default, encoding="utf-8")
    load_on = _load()
    on_seconds, on_mb = timed(ptw("analyse", "--workspace", str(space.root)))
    comparisons = pd.read_parquet(space.bundle_dir / "comparisons.parquet")
    plan = load_plan(analysis_dir() / "plan.yaml")
    load_step = _load()
    started = time.perf_counter()
    result = small_numbers(plan, comparisons)
    step = time.perf_counter() - started
    pooled = result.tables["pooled_estimates"]
    return {
        "responses per survey per cycle": f"{size:,}",
        "cycles": len(cycles),
        "analyse s, small numbers off": f"{off_seconds:.1f} (load {load_off})",
        "analyse s, on": f"{on_seconds:.1f} (load {load_on})",
        "step alone s": f"{step:.1f} (load {load_step})",
        "funnels": len(result.limits.groupby(["indicator", "cycle", "dimension", "group"])),
        "pooled cells published": int((~pooled["suppressed"]).sum()),
        "analyse peak MB": f"{on_mb:,.0f}",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="Time the small-numbers tables of ptw analyse.")
    parser.add_argument("--sizes", default="5000", help="responses per survey per cycle")
    parser.add_argument("--cycles", default="2023-2025", help="e.g. 2023-2025 or 2021,2022")
    args = parser.parse_args()
    print(f"load average at start: {_load()}; cores: {len(os.sched_getaffinity(0))}")
    results = []
    for size in (int(s) for s in args.sizes.split(",") if s):
        with tempfile.TemporaryDirectory(prefix="ptw-bench-") as scratch:
            results.append(bench(size, parse_cycles(args.cycles), Path(scratch) / "ws"))
    headers = list(results[0])
    print("| " + " | ".join(headers) + " |")
    print("|" + "---:|" * len(headers))
    for row in results:
        print("| " + " | ".join(str(row[h]) for h in headers) + " |")


if __name__ == "__main__":
    main()
