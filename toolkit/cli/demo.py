"""`ptw demo` and `ptw synth`: the whole pipeline on synthetic data."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import track
from rich.table import Table

from toolkit.cli.analyse import analyse_workspace
from toolkit.cli.common import console, user_errors
from toolkit.config import init_workspace

if TYPE_CHECKING:
    from toolkit.instruments.model import Instrument

DEMO_SURVEYS = ("culture", "retention")
DemoCycles = Annotated[str, typer.Option(help="Survey years, e.g. 2023,2024,2025 or 2023-2025.")]
Responses = Annotated[
    int, typer.Option(help="Responses per survey per cycle, all regions together.")
]
Seed = Annotated[int, typer.Option(help="Random seed (same seed, same data).")]


def _instruments(surveys_dir: Path, names: tuple[str, ...]) -> dict[str, Instrument]:
    from toolkit.instruments.model import instrument_path, load_instrument

    return {name: load_instrument(instrument_path(surveys_dir, name)) for name in names}


def _record_instruments(surveys_dir: Path) -> dict[str, Instrument]:
    from toolkit.ingest.batch import RECORD_KINDS
    from toolkit.instruments.model import instrument_path, load_instrument

    return {
        kind: load_instrument(instrument_path(surveys_dir, f"{kind}_records"))
        for kind in RECORD_KINDS
    }


def synth(
    out: Annotated[Path, typer.Option(help="Folder for the CSV exports and truth.json.")],
    cycles: DemoCycles = "2023,2024,2025",
    responses: Responses = 5000,
    seed: Seed = 20240626,
) -> None:
    """Write synthetic survey-platform CSV exports (one per survey, cycle and region) with known gaps."""
    from toolkit.synth.records import records_spec_for, write_record_exports
    from toolkit.synth.responses import parse_cycles, spec_for, write_platform_exports

    with user_errors():
        from toolkit.resources import surveys_dir

        spec = spec_for(parse_cycles(cycles), responses, seed)
        paths = write_platform_exports(spec, _instruments(surveys_dir(), DEMO_SURVEYS), out)
        records = write_record_exports(
            records_spec_for(spec), _record_instruments(surveys_dir()), out
        )
        console.print(
            f"Wrote {len(paths)} survey exports, {len(records)} records files and the truth to {out}"
        )


def demo(
    folder: Annotated[
        Path, typer.Option("--dir", help="Demo workspace; the report lands in DIR/reports.")
    ] = Path("out"),
    cycles: DemoCycles = "2023,2024,2025",
    responses: Responses = 5000,
    seed: Seed = 20240626,
) -> None:
    """Run the real pipeline on synthetic data: synth -> ingest -> analyse -> national report."""
    from toolkit.ingest.pipeline import ingest_records_file, ingest_survey_file
    from toolkit.report.runner import render_all, report_jobs
    from toolkit.store.database import ResponseStore
    from toolkit.synth.records import records_spec_for, write_record_exports
    from toolkit.synth.responses import parse_cycles, spec_for, write_platform_exports

    with user_errors():
        space = init_workspace(folder, output=".", synthetic=True)
        shutil.rmtree(space.store_path.parent, ignore_errors=True)
        exports = space.root / "exports"
        shutil.rmtree(exports, ignore_errors=True)
        instruments = _instruments(space.surveys_dir, DEMO_SURVEYS)
        record_instruments = _record_instruments(space.surveys_dir)

        spec = spec_for(parse_cycles(cycles), responses, seed)
        paths = write_platform_exports(spec, instruments, exports)
        record_paths = write_record_exports(records_spec_for(spec), record_instruments, exports)
        console.print(
            f"1. Generated {len(paths)} survey exports and {len(record_paths)} records files in {exports}"
        )

        with ResponseStore(space.store_path) as store:
            for path in track(paths, description="2. Ingesting surveys", console=console):
                survey, cycle, region = path.stem.split("_")
                ingest_survey_file(
                    store, path, instrument=instruments[survey], cycle=int(cycle), region=region,
                    secret=space.secret(),
                )  # fmt: skip
            for path in track(record_paths, description="   Ingesting records", console=console):
                kind = path.stem.split("_")[0]
                ingest_records_file(
                    store, path, kind=kind, instrument=record_instruments[kind], year=max(spec.cycles),
                    region="", secret=space.secret(),
                )  # fmt: skip
            counts = store.counts()
        surveys = counts[counts["kind"] == "survey"]
        console.print(
            f"   {int(surveys['accepted'].sum()):,} responses and "
            f"{int(counts['accepted'].sum() - surveys['accepted'].sum()):,} records stored, "
            f"{int(counts['quarantined'].sum())} quarantined"
        )

        bundle_dir = analyse_workspace(space)
        console.print(f"3. Results bundle written to {bundle_dir}")

        (result,) = render_all(space, jobs=report_jobs("national"))
        console.print(
            f"4. National report rendered by the {result.engine} engine in {result.seconds:.1f} s"
        )
        _print_summary(bundle_dir)
        console.print(f"Report: {result.outputs['html']}")


def _print_summary(bundle_dir: Path) -> None:
    from toolkit.bundle import read_bundle

    bundle = read_bundle(bundle_dir, {"comparisons": None})
    rows = bundle.table("comparisons")
    latest = rows["cycle"].max()
    picked = rows[
        (rows["region"] == "England") & (rows["cycle"] == latest) & (rows["level"] == "binary")
        & rows["dimension"].isin(["ethnicity", "disability"]) & ~rows["is_reference"]
    ]  # fmt: skip
    table = Table(
        "indicator",
        "group",
        "rate",
        "relative likelihood (95% CI)",
        title=f"Latest cycle ({latest}), England",
    )
    for row in picked.itertuples():
        table.add_row(row.indicator, row.group, f"{100 * row.estimate:.1f}%",
                      f"{row.rel_likelihood:.2f} ({row.rl_ci_low:.2f}-{row.rl_ci_high:.2f})")  # fmt: skip
    console.print(table)
