"""Time the over-time step of `ptw analyse` alone, in-process, on an existing workspace (issue 13).

The step is :func:`toolkit.analysis.runner.over_time_step`: survey trends (``trend_gaps``,
``trend_interactions``, ``trend_changes``), intention to leave, representation, the records
tables and their suppression. The surveys are read and prepared as ``ptw analyse`` does (not
timed); then, ``--repeat`` times, the survey tables alone
(:func:`toolkit.analysis.trends.survey_tables`) and the whole step are timed, in wall and CPU
seconds (on a shared machine CPU seconds are the steadier figure), with the load average.
``--save FOLDER`` writes the step's tables as parquet, to compare two branches' numbers.

    .venv/bin/python benchmarks/over_time.py /tmp/demo-workspace
    .venv/bin/python benchmarks/over_time.py /tmp/demo-workspace --save /tmp/over_time_tables
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from toolkit.analysis.plan import load_plan
from toolkit.analysis.runner import over_time_step, prepare_survey
from toolkit.analysis.trends import survey_tables
from toolkit.config import load_workspace
from toolkit.disclosure.suppression import SuppressionPolicy
from toolkit.ingest.batch import table_name
from toolkit.instruments.model import instrument_path, load_instrument
from toolkit.instruments.versions import instrument_versions
from toolkit.store.database import ResponseStore


def _load() -> str:
    return f"{os.getloadavg()[0]:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description="Time the over-time step of ptw analyse.")
    parser.add_argument("workspace", type=Path, help="a workspace with ingested responses")
    parser.add_argument("--repeat", type=int, default=1, help="how many times to run the step")
    parser.add_argument("--save", type=Path, help="write the step's tables here as parquet")
    args = parser.parse_args()
    space = load_workspace(args.workspace)
    plan = load_plan(space.plan_path)
    policy = SuppressionPolicy(threshold=space.threshold, rounding=space.rounding)
    with ResponseStore(space.store_path, read_only=True) as store:
        surveys = {}
        for name in plan.surveys:
            answers = store.read_table(table_name("responses", name))
            if not answers.empty:
                instrument = load_instrument(instrument_path(space.surveys_dir, name))
                surveys[name] = prepare_survey(
                    plan, instrument, answers, plan_dir=space.plan_path.parent
                )
        rows = sum(len(s.frame) for s in surveys.values())
        print(f"{rows:,} responses; cores: {len(os.sched_getaffinity(0))}")
        versions = {name: instrument_versions(space.surveys_dir, name) for name in surveys}
        min_n = max(plan.over_time.min_n, policy.threshold)
        for _ in range(args.repeat):
            load = _load()
            started, cpu = time.perf_counter(), time.process_time()
            survey_tables({name: s.frame for name, s in surveys.items()},
                          {name: s.instrument for name, s in surveys.items()}, plan.indicators,
                          plan.over_time, level=plan.level, min_n=min_n, versions=versions)  # fmt: skip
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
            print(f"survey trend tables: {seconds:.2f} s wall, {cpu:.2f} s CPU (load {load})")
            load = _load()
            started, cpu = time.perf_counter(), time.process_time()
            result = over_time_step(plan, store, space.surveys_dir, surveys, policy)()
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
            print(f"over-time step: {seconds:.2f} s wall, {cpu:.2f} s CPU (load {load})")
    if args.save:
        args.save.mkdir(parents=True, exist_ok=True)
        for name, table in result.tables.items():
            table.to_parquet(args.save / f"{name}.parquet")


if __name__ == "__main__":
    main()
