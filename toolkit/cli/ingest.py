"""`ptw ingest`: load a survey export into the workspace store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from toolkit.cli.common import WorkspaceOption, console, user_errors, workspace
from toolkit.ingest.pipeline import IngestReport, ingest_survey_file
from toolkit.instrument import instrument_path, load_instrument
from toolkit.store import ResponseStore


def ingest(
    files: Annotated[
        list[Path],
        typer.Argument(help="Survey export(s): CSV, TSV, XLSX, XLS, ODS, SAV or Parquet."),
    ],
    survey: Annotated[
        str, typer.Option(help="Instrument the file answers, e.g. retention or culture.")
    ],
    cycle: Annotated[int, typer.Option(help="Survey year of every row, e.g. 2025.")],
    region: Annotated[
        str,
        typer.Option(
            help="NHS England region (name or code); default: ptw.toml or each row's own."
        ),
    ] = "",
    strict: Annotated[
        bool, typer.Option(help="Refuse the whole file if any row has an error.")
    ] = False,
    issues_out: Annotated[
        Path | None, typer.Option("--issues", help="Write every issue to this CSV or XLSX.")
    ] = None,
    workspace_dir: WorkspaceOption = None,
) -> None:
    """Validate survey exports and store them; rows with errors go to quarantine with their reasons."""
    with user_errors():
        space = workspace(workspace_dir)
        instrument = load_instrument(instrument_path(space.surveys_dir, survey))
        reports = []
        with ResponseStore(space.store_path) as store:
            for path in files:
                report = ingest_survey_file(
                    store, path, instrument=instrument, cycle=cycle, region=region or space.region,
                    secret=space.secret(),
                    strict=strict,
                )  # fmt: skip
                reports.append(report)
                _print_report(path, report)
        if issues_out is not None:
            _write_issues(reports, issues_out)


def _print_report(path: Path, report: IngestReport) -> None:
    batch = report.batch
    if report.already_ingested:
        console.print(f"{path.name}: already ingested as batch {batch.batch_id}; nothing added.")
        return
    console.print(
        f"{path.name}: {batch.accepted} accepted, {batch.quarantined} quarantined, {batch.warned} flagged "
        f"(batch {batch.batch_id}, {batch.reader}, {batch.encoding or 'binary'})"
    )
    if not report.issues.empty:
        summary = report.issues.groupby(["rule", "column"]).size().reset_index(name="rows")
        table = Table("rule", "column", "rows", title="Issues")
        for row in summary.itertuples():
            table.add_row(row.rule, str(row.column), str(row.rows))
        console.print(table)
    if report.ignored_columns:
        console.print(f"Ignored columns (no matching item): {', '.join(report.ignored_columns)}")


def _write_issues(reports: list[IngestReport], path: Path) -> None:
    import pandas as pd

    frame = pd.concat(
        [r.issues.assign(batch_id=r.batch.batch_id) for r in reports], ignore_index=True
    )
    if path.suffix.lower() == ".xlsx":
        frame.to_excel(path, index=False)
    else:
        frame.to_csv(path, index=False)
    console.print(f"Issues written to {path}")
