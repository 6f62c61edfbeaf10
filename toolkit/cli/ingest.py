"""`ptw ingest`: load survey exports into the workspace store (or draft a header mapping)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from toolkit.cli.common import WorkspaceOption, console, user_errors, workspace, wrapped_table
from toolkit.errors import PtwError

if TYPE_CHECKING:
    from toolkit.ingest.batch import BatchRecord
    from toolkit.ingest.pipeline import IngestReport

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
        bool,
        typer.Option(
            "--suggest-mapping",
            help="Draft a mapping for the export instead of ingesting it "
            "(printed, or written to --mapping-out).",
        ),
    ] = False,
    mapping_out: Annotated[
        Path | None, typer.Option(help="Where --suggest-mapping writes the YAML draft.")
    ] = None,
    strict: StrictOption = False,
    issues_out: IssuesOption = None,
    workspace_dir: WorkspaceOption = None,
) -> None:
    """Validate survey exports and store them; rows with errors go to quarantine with their reasons.

    Qualtrics, SurveyMonkey, Microsoft Forms, Smart Survey, JISC and Google Forms exports load as is.
    """
    from toolkit.ingest.mapping import read_mapping, suggest_mapping
    from toolkit.ingest.pipeline import ingest_survey_file
    from toolkit.ingest.readers import read_export
    from toolkit.instruments.model import instrument_path, load_instrument
    from toolkit.store.database import ResponseStore

    with user_errors():
        check_issues_path(issues_out)
        space = workspace(workspace_dir)
        if not survey:
            raise _usage("--survey is required (e.g. --survey culture)")
        instrument = load_instrument(instrument_path(space.surveys_dir, survey))
        if suggest:
            if not files or len(files) > 1:
                raise _usage("--suggest-mapping drafts a mapping for one export: give one file")
            raw = read_export(files[0], max_unzipped=space.max_unzipped_bytes)
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


def check_issues_path(path: Path | None) -> None:
    """Refuse an ``--issues`` file ptw cannot write before anything is ingested."""
    from toolkit.ingest.sheets import SHEET_SUFFIXES

    if path is not None and path.suffix.lower() not in SHEET_SUFFIXES:
        raise _usage(f"--issues writes a .csv or .xlsx file, not {path.name!r}")


def print_report(path: Path, report: IngestReport) -> None:
    """One line per file, then the issues summarised by rule and column."""
    batch = report.batch
    if report.already_ingested:
        console.print(f"{path.name}: already ingested as batch {batch.batch_id}; nothing added.")
        return
    console.print(
        f"{path.name}: {batch.accepted} accepted, {batch.quarantined} quarantined, "
        f"{batch.warned} flagged, {batch.skipped} already stored "
        f"(batch {batch.batch_id}; {how_read(batch)})"
    )
    if report.released:
        console.print(f"  {report.released} row(s) quarantined earlier are now released.")
    if not report.issues.empty:
        summary = (
            report.issues.groupby(["severity", "rule", "column"], sort=True)
            .agg(rows=("rule", "size"), example=("value", "first"), message=("message", "first"))
            .reset_index()
        )
        table = wrapped_table(
            "severity", "rule", "column", "rows", "example", "message", title="Issues"
        )
        for row in summary.itertuples():
            table.add_row(row.severity, row.rule, str(row.column), str(row.rows),
                          str(row.example), str(row.message))  # fmt: skip
        console.print(table)


#: How each reader and layout is said in the ingest summary.
READ_AS = {"csv": "CSV", "tsv": "tab-separated text", "xlsx": "Excel workbook",
           "xls": "Excel 97-2003 workbook", "ods": "OpenDocument spreadsheet",
           "spss": "SPSS data file", "parquet": "Parquet file"}  # fmt: skip
LAYOUT_AS = {"plain": "one header row", "qualtrics": "Qualtrics' three header rows",
             "surveymonkey": "SurveyMonkey's two header rows"}  # fmt: skip


def how_read(batch: BatchRecord) -> str:
    """How the file was read, in words: ``read as CSV, UTF-8, one header row``."""
    parts = [f"read as {READ_AS.get(batch.reader, batch.reader)}"]
    if batch.encoding:
        parts.append(batch.encoding.upper().replace("-SIG", " with a byte-order mark"))
    if batch.reader not in ("spss", "parquet"):
        parts.append(LAYOUT_AS.get(batch.layout, batch.layout))
    return ", ".join(parts)


def write_issues(reports: list[IngestReport], path: Path) -> None:
    """Every issue of the reports, with its batch id, to a CSV or XLSX file, in file order
    and, within a file, by source row (notes about whole columns, on the header row, first).
    Cells are made safe (:func:`toolkit.ingest.sheets.write_sheet`); respondents appear only as
    pseudonyms."""
    import pandas as pd

    from toolkit.ingest.sheets import write_sheet

    frame = pd.concat(
        [r.issues.assign(batch_id=r.batch.batch_id, file=r.batch.source_file) for r in reports],
        ignore_index=True,
    )
    frame = frame.assign(
        _file=frame["file"].map({r.batch.source_file: k for k, r in enumerate(reports)})
    )
    frame = frame.sort_values(["_file", "source_row"], kind="stable").drop(columns="_file")
    write_sheet(frame, path)
    console.print(f"Issues written to {path}")
