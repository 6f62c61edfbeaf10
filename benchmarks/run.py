"""Time the whole pipeline on synthetic workspaces of several sizes (`make bench`).

For each size: synthetic platform exports for every cycle and region are written (not
timed), then the real commands run, each in its own process: `ptw ingest` (one call per
survey x cycle, every region's file at once), `ptw analyse`, `ptw report national` twice (the
first render draws every figure; the second finds them in the figure cache, as a re-render of
the same bundle does) and, with `--all-reports`, `ptw report --all-regions --format
html,docx,pdf` on a cleared figure cache. The table gives wall time and peak resident memory of
each stage and the load average when the size started. Then, once: `ptw --help` (median of
five) and `ptw demo` in a fresh folder (what `make demo` runs after set-up).

Sizes are responses per survey per cycle. The defaults are a region (1,000), the national
technician workforce (10,000: about 40% of the 26,193 registered technicians) and, with
`--large`, NHS Staff Survey scale (700,000 a cycle over 5 cycles). `ptw demo` data is 5,000 a
cycle over 3 cycles.

    .venv/bin/python benchmarks/run.py
    .venv/bin/python benchmarks/run.py --sizes 5000 --all-reports
    .venv/bin/python benchmarks/run.py --sizes 700000 --cycles 2021-2025
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from toolkit.config import init_workspace
from toolkit.instruments.model import instrument_path, load_instrument
from toolkit.resources import surveys_dir
from toolkit.synth.responses import parse_cycles, spec_for, write_platform_exports

SURVEYS = ("culture", "retention")
MEASURE = (
    "import resource, subprocess, sys\n"
    "code = subprocess.run(sys.argv[1:]).returncode\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, code)\n"
)


def timed(command: list[str]) -> tuple[float, float]:
    """Run ``command``; return (seconds, peak resident MB of the command)."""
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", MEASURE, *command], capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - started
    peak_kb, code = result.stdout.strip().splitlines()[-1].split()
    if code != "0":
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stderr[-2000:]}")
    return seconds, int(peak_kb) / 1024


def ptw(*args: str) -> list[str]:
    return [sys.executable, "-m", "toolkit.cli", *args]


def bench(size: int, cycles: tuple[int, ...], folder: Path, *, all_reports: bool) -> dict[str, object]:  # fmt: skip
    """Every stage on one synthetic workspace of ``size`` responses per survey per cycle."""
    space = init_workspace(folder)
    exports = folder / "exports"
    instruments = {name: load_instrument(instrument_path(surveys_dir(), name)) for name in SURVEYS}
    write_platform_exports(spec_for(cycles, size), instruments, exports)
    rows = sum(1 for path in exports.glob("*.csv") for _ in path.open()) - len(
        list(exports.glob("*.csv"))
    )
    load = os.getloadavg()[0]
    ingest_seconds, ingest_mb = 0.0, 0.0
    for survey in SURVEYS:
        for cycle in cycles:
            files = sorted(str(p) for p in exports.glob(f"{survey}_{cycle}_*.csv"))
            seconds, peak = timed(ptw("ingest", *files, "--survey", survey, "--cycle", str(cycle),
                                      "--workspace", str(space.root)))  # fmt: skip
            ingest_seconds += seconds
            ingest_mb = max(ingest_mb, peak)
    analyse_seconds, analyse_mb = timed(ptw("analyse", "--workspace", str(space.root)))
    national = ptw("report", "national", "--workspace", str(space.root))
    report_seconds, report_mb = timed(national)
    again_seconds, _ = timed(national)
    row = {
        "responses per survey per cycle": f"{size:,}",
        "cycles": len(cycles),
        "load at start": f"{load:.1f}",
        "rows ingested": f"{rows:,}",
        "ingest s": f"{ingest_seconds:.1f}",
        "ingest rows/s": f"{rows / ingest_seconds:,.0f}",
        "ingest peak MB": f"{ingest_mb:,.0f}",
        "analyse s": f"{analyse_seconds:.1f}",
        "analyse peak MB": f"{analyse_mb:,.0f}",
        "national HTML s (figures drawn)": f"{report_seconds:.1f}",
        "national HTML s (figures cached)": f"{again_seconds:.1f}",
        "report peak MB": f"{report_mb:,.0f}",
    }
    if all_reports:
        shutil.rmtree(folder / "reports", ignore_errors=True)
        seconds, peak = timed(ptw("report", "--all-regions", "--format", "html,docx,pdf",
                                  "--workspace", str(space.root)))  # fmt: skip
        row["all reports x html,docx,pdf s"] = f"{seconds:.1f}"
        row["all reports peak MB"] = f"{peak:,.0f}"
    return row


def commands(folder: Path) -> dict[str, object]:
    """``ptw --help`` (median of five runs) and ``ptw demo`` in a fresh folder."""
    helps = [timed(ptw("--help"))[0] for _ in range(5)]
    load = os.getloadavg()[0]
    demo_seconds, demo_mb = timed(ptw("demo", "--dir", str(folder)))
    return {
        "load at start": f"{load:.1f}",
        "ptw --help s": f"{statistics.median(helps):.2f}",
        "ptw demo s": f"{demo_seconds:.1f}",
        "ptw demo peak MB": f"{demo_mb:,.0f}",
    }


def table(rows: list[dict[str, object]]) -> str:
    """``rows`` as a Markdown table (the first row's keys are the headers)."""
    headers = list(rows[0])
    lines = ["| " + " | ".join(headers) + " |", "|" + "---:|" * len(headers)]
    return "\n".join(lines + ["| " + " | ".join(str(r.get(h, "")) for h in headers) + " |"
                              for r in rows])  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description="Time ingest, analysis and rendering.")
    parser.add_argument(
        "--sizes", default="1000,10000", help="responses per survey per cycle, comma-separated"
    )
    parser.add_argument("--cycles", default="2023-2025", help="e.g. 2023-2025 or 2021,2022")
    parser.add_argument(
        "--large", action="store_true", help="add NHS Staff Survey scale: 700,000 x 5 cycles"
    )
    parser.add_argument(
        "--all-reports", action="store_true",
        help="also render every report (national, 7 regions, trends) as html, docx and pdf",
    )  # fmt: skip
    args = parser.parse_args()
    runs = [(int(s), parse_cycles(args.cycles)) for s in args.sizes.split(",") if s]
    if args.large:
        runs.append((700_000, parse_cycles("2021-2025")))
    print(f"cores: {len(os.sched_getaffinity(0))}")
    results = []
    for size, cycles in runs:
        with tempfile.TemporaryDirectory(prefix="ptw-bench-") as scratch:
            results.append(bench(size, cycles, Path(scratch) / "ws", all_reports=args.all_reports))
        print(table(results[-1:]), flush=True)  # each size as soon as it is done
    print(table(results))
    with tempfile.TemporaryDirectory(prefix="ptw-bench-") as scratch:
        print(table([commands(Path(scratch) / "demo")]))


if __name__ == "__main__":
    main()
