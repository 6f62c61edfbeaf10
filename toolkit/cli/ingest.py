"""`ptw ingest`: load survey exports into the workspace store (or draft a header mapping)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.table import Table

from toolkit.cli.common import WorkspaceOption, console, user_errors, workspace
from toolkit.errors import PtwError
from toolkit.ingest.mapping import read_mapping, suggest_mapping
from toolkit.ingest.pipeline import IngestReport, ingest_survey_file
from toolkit.ingest.readers import read_export
from toolkit.ingest.sheets import write_sheet
from toolkit.instruments.model import instrument_path, load_instrument
from toolkit.store.database import ResponseStore

MappingOption = Annotated[
    Path | None,
    typer.Option("--mapping", help="YAML or CSV file: source header -> item name."),
]
IssuesOption = Annotated[
    Path | None, typer.Option("--issues", help="Write every issue to this CSV or XLSX file.")
]
StrictOption = Annotated[bool, typer.Option(help="Refuse the whole file if any row has an error.")]


def ingest(
    files: Annotated[
        list[Path] | None,
        typer.Argument(help="Survey export(s): CSV, TSV, XLSX, XLS, ODS, SAV or Parquet."),
    ] = None,
    survey: Annotated[
        str, typer.Option(help="Instrument the file answers, e.g. retention or culture.")
    ] = "",
    cycle: Annotated[int | None, typer.Option(help="Survey year of every row, e.g. 2025.")] = None,
    region: Annotated[
        str,
        typer.Option(
            help="NHS England region (name or code); default: ptw.toml or each row's own."
        ),
    ] = "",
    mapping: MappingOption = None,
    suggest: Annotated[
        Path | None,
        typer.Option(
            "--suggest-mapping",
            help="Draft a mapping for this export (printed, or written to --mapping-out).",
        ),
    ] = None,
    mapping_out: Annotated[
        Path | None, typer.Option(help="Where --suggest-mapping writes the YAML draft.")
    ] = None,
    strict: StrictOption = False,
    issues_out: IssuesOption = None,
    workspace_dir: WorkspaceOption = None,
) -> None:
    """Validate survey exports and store them; rows with errors go to quarantine with their reasons."""
    with user_errors():
        space = workspace(workspace_dir)
        if not survey:
            raise _usage("--survey is required (e.g. --survey culture)")
        instrument = load_instrument(instrument_path(space.surveys_dir, survey))
        if suggest is not None:
            raw = read_export(suggest, max_unzipped=space.max_unzipped_bytes)
            draft = suggest_mapping(list(raw.frame.columns), instrument, raw.question_text)
            if mapping_out is None:
                typer.echo(draft, nl=False)
            else:
                mapping_out.write_text(draft, encoding="utf-8")
                console.print(
                    f"Draft mapping written to {mapping_out}; check the lines marked 'check'"
                )
            return
        if not files or cycle is None:
            raise _usage("give the export file(s) and --cycle YEAR")
        explicit = read_mapping(mapping) if mapping else None
        reports = []
        with ResponseStore(space.store_path) as store:
            for path in files:
                report = ingest_survey_file(
                    store, path, instrument=instrument, cycle=cycle, region=region or space.region,
                    secret=space.secret(), mapping=explicit, strict=strict,
                    max_unzipped=space.max_unzipped_bytes,
                )  # fmt: skip
                reports.append(report)
                print_report(path, report)
        if issues_out is not None:
            write_issues(reports, issues_out)


def _usage(message: str) -> PtwError:
    return PtwError(code="cli.usage", message=message, fix="see `ptw ingest --help`")


def print_report(path: Path, report: IngestReport) -> None:
    """One line per file, then the issues summarised by rule and column."""
    batch = report.batch
    if report.already_ingested:
        console.print(f"{path.name}: already ingested as batch {batch.batch_id}; nothing added.")
        return
    console.print(
        f"{path.name}: {batch.accepted} accepted, {batch.quarantined} quarantined, "
        f"{batch.warned} flagged, {batch.skipped} already stored "
        f"(batch {batch.batch_id}, {batch.reader}, {batch.encoding or 'binary'}, {batch.layout})"
    )
    if report.released:
        console.print(f"  {report.released} row(s) quarantined earlier are now released.")
    if not report.issues.empty:
        summary = (
            report.issues.groupby(["severity", "rule", "column"], sort=True)
            .agg(rows=("rule", "size"), example=("value", "first"), message=("message", "first"))
            .reset_index()
        )
        table = Table("severity", "rule", "column", "rows", "example", "message", title="Issues")
        for row in summary.itertuples():
            table.add_row(row.severity, row.rule, str(row.column), str(row.rows),
                          str(row.example)[:30], str(row.message)[:90])  # fmt: skip
        console.print(table)


def write_issues(reports: list[IngestReport], path: Path) -> None:
    """Every issue of the reports, with its batch id, to a CSV or XLSX file (cells made safe:
    :func:`toolkit.ingest.sheets.write_sheet`; respondents appear only as pseudonyms)."""
    frame = pd.concat(
        [r.issues.assign(batch_id=r.batch.batch_id, file=r.batch.source_file) for r in reports],
        ignore_index=True,
    )
    write_sheet(frame, path)
    console.print(f"Issues written to {path}")
