"""Benchmark (not a test): time the national HTML report and every report in several formats.

Usage: ``.venv/bin/python benchmarks/reports.py WORKSPACE [--workers 2] [--formats html,docx,pdf]``
(make one with ``ptw demo --dir DIR``; its bundle must pass the release gate, so the workspace's
key and threshold are needed, not only the bundle). Each run renders into
a new output folder twice: ``cold`` with an empty figure cache (every figure drawn) and ``warm``
right after into the same folder (every figure copied from ``.figure-cache``), as a re-render
of the same bundle does. The load average is read before each render; on a shared machine the
CPU seconds (this process, the kernels, their drawing processes, pandoc and typst) vary less
with the load than the wall-clock seconds. Targets (issue 13):
national HTML under 6 s, all 9 reports x 3 formats under 45 s; issue 12's floor: under 20 s
and 90 s on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from toolkit.config import load_workspace
from toolkit.report.runner import ReportPaths, render_all, report_jobs
from toolkit.resources import reports_dir


def cpu_seconds() -> float:
    """User + system CPU seconds of this process and of its children that have ended."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    """Render and print one line per render: run, cache, reports, formats, workers, load,
    wall-clock seconds and CPU seconds."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("workspace", type=Path)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--formats", default="html,docx,pdf")
    options = parser.parse_args()
    formats = tuple(options.formats.split(","))
    space = load_workspace(options.workspace)
    runs = (
        ("national html", report_jobs("national"), ("html",), 1),
        ("all regions (national, 7 regional, trends)", report_jobs("national", all_regions=True),
         formats, options.workers),
    )  # fmt: skip
    print(f"{'run':44} {'cache':>5} {'reports':>7} {'formats':>14} {'workers':>7} "
          f"{'load':>5} {'seconds':>8} {'CPU s':>7}")  # fmt: skip
    for name, jobs, run_formats, workers in runs:
        with tempfile.TemporaryDirectory() as out:
            paths = replace(ReportPaths.of(space), reports_dir=reports_dir(), out_dir=Path(out))
            for cache in ("cold", "warm"):
                load, cpu = os.getloadavg()[0], cpu_seconds()
                started = time.perf_counter()
                render_all(paths, jobs=jobs,
                           formats=run_formats, engine="builtin", workers=workers)  # fmt: skip
                seconds = time.perf_counter() - started
                print(f"{name:44} {cache:>5} {len(jobs):>7} {','.join(run_formats):>14} "
                      f"{workers:>7} {load:>5.1f} {seconds:>8.1f} {cpu_seconds() - cpu:>7.1f}",
                      flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
