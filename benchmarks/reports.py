"""Benchmark (not a test): time the national HTML report and national + 7 regional + trends.

Usage: ``.venv/bin/python benchmarks/reports.py WORKSPACE [--workers 2] [--formats html]``
(make one with ``ptw demo --dir DIR``; its bundle must pass the release gate, so the workspace's
key and threshold are needed, not only the bundle). Targets (issue 7):
national HTML under 20 s; national + 7 regional + trends under 90 s on 2 cores.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from toolkit.config import load_workspace
from toolkit.report.runner import ReportPaths, render_all, report_jobs
from toolkit.resources import reports_dir


def main() -> None:
    """Render and print one line per run: what, reports, formats, workers, seconds."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("workspace", type=Path)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--formats", default="html")
    options = parser.parse_args()
    formats = tuple(options.formats.split(","))
    space = load_workspace(options.workspace)
    runs = (
        ("national html", report_jobs("national"), ("html",), 1),
        ("national + 7 regional + trends", report_jobs("national", all_regions=True), formats,
         options.workers),
    )  # fmt: skip
    print(f"{'run':34} {'reports':>7} {'formats':>14} {'workers':>7} {'seconds':>8}")
    for name, jobs, run_formats, workers in runs:
        with tempfile.TemporaryDirectory() as out:
            started = time.perf_counter()
            paths = replace(ReportPaths.of(space), reports_dir=reports_dir(), out_dir=Path(out))
            render_all(paths, jobs=jobs,
                       formats=run_formats, engine="builtin", workers=workers)  # fmt: skip
            seconds = time.perf_counter() - started
        print(f"{name:34} {len(jobs):>7} {','.join(run_formats):>14} {workers:>7} {seconds:>8.1f}")


if __name__ == "__main__":
    main()
