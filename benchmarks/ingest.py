"""Benchmark: `ptw ingest` of a 60-column culture export at 100,000 and 1,000,000 rows.

    .venv/bin/python benchmarks/ingest.py [--rows 100000,1000000] [--keep DIR]

Each run is a fresh workspace and a separate `python -m toolkit.cli ingest` process; the table
gives wall time, rows per second, the process's CPU time (user + system) and peak resident
memory (``os.wait4`` rusage), and the load average when it started: on a shared machine the
wall time follows the load, the CPU time much less. Answers are labels drawn at random for
every item not behind skip logic (items with ``relevant`` are left blank), identifiers are
unique. Targets: issue 4, >= 100,000 rows/s and 1,000,000 rows in under 30 s under 4 GB;
issue 13, >= 250,000 rows/s.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from toolkit.config import init_workspace
from toolkit.instruments.model import load_instrument
from toolkit.resources import surveys_dir

BLOCK = 100_000


def export_table(rows: int, seed: int = 1) -> pa.Table:
    """``rows`` culture responses as labels: respondent_id, cycle and 58 answered items."""
    instrument = load_instrument(surveys_dir() / "culture.yaml")
    rng = np.random.default_rng(seed)
    columns: dict[str, pa.Array] = {
        "respondent_id": pa.array([f"R{k:08d}" for k in range(rows)]),
        "cycle": pa.array(np.full(rows, "2024")),
    }
    for item in instrument.items:
        if item.identifier:
            continue
        labels = [c.label for c in instrument.choices(item)]
        if item.relevant or not labels:
            columns[item.name] = pa.nulls(rows, pa.string())
            continue
        if item.name == "region":
            labels = ["London"]
        picks = rng.integers(0, len(labels), rows)
        columns[item.name] = pa.array(np.array(labels, dtype=object)[picks], type=pa.string())
    return pa.table(columns)


def run(rows: int, folder: Path) -> dict[str, float]:
    """Write the export, ingest it in a child process; wall and CPU seconds, peak RSS (MB)."""
    shutil.rmtree(folder / f"ws{rows}", ignore_errors=True)
    space = init_workspace(folder / f"ws{rows}")
    path = folder / f"culture_{rows}.csv"
    if not path.exists():
        pacsv.write_csv(export_table(rows), path)
    command = [sys.executable, "-m", "toolkit.cli", "ingest", str(path), "--survey", "culture",
               "--cycle", "2024", "--region", "London", "-w", str(space.root)]  # fmt: skip
    load = os.getloadavg()[0]
    start = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    output = child.stdout.read().decode() + child.stderr.read().decode()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(output)
    return {"rows": rows, "columns": 60, "seconds": seconds, "rows_per_s": rows / seconds,
            "cpu_seconds": usage.ru_utime + usage.ru_stime, "load": load,
            "peak_rss_mb": usage.ru_maxrss / 1024, "file_mb": path.stat().st_size / 2**20,
            "summary": output.splitlines()[0]}  # fmt: skip


def startup_seconds() -> float:
    """Wall time of `python -m toolkit.cli --help`: the import cost inside every run."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "toolkit.cli", "--help"], capture_output=True, check=True)
    return time.perf_counter() - start


def main() -> None:
    """Run the sizes asked for and print the table and the machine load."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="100000,1000000")
    parser.add_argument("--keep", type=Path, default=None, help="Folder to keep files in.")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="ptw-bench-"))
    results = [run(int(n), folder) for n in args.rows.split(",")]
    startup = startup_seconds()
    header = (
        "rows",
        "cols",
        "file MB",
        "seconds",
        "rows/s",
        "s w/o startup",
        "rows/s w/o",
        "CPU s",
        "peak RSS MB",
        "load",
    )
    print(" ".join(f"{h:>13}" for h in header))
    for r in results:
        work = r["seconds"] - startup
        cells = (f"{r['rows']:,}", "60", f"{r['file_mb']:.0f}", f"{r['seconds']:.1f}",
                 f"{r['rows_per_s']:,.0f}", f"{work:.1f}", f"{r['rows'] / work:,.0f}",
                 f"{r['cpu_seconds']:.1f}", f"{r['peak_rss_mb']:,.0f}", f"{r['load']:.1f}")  # fmt: skip
        print(" ".join(f"{c:>13}" for c in cells))
    print(f"startup (python -m toolkit.cli --help): {startup:.1f} s")
    for r in results:
        print(r["summary"])
    print("load:", os.getloadavg(), "cpus:", os.cpu_count())


if __name__ == "__main__":
    main()
