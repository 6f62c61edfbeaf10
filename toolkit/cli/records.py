"""`ptw records ingest`: load workforce, training or recruitment records into the store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from toolkit.cli.common import WorkspaceOption, user_errors, workspace
from toolkit.cli.ingest import (
    IssuesOption,
    MappingOption,
    StrictOption,
    check_issues_path,
    print_report,
    write_issues,
)

app = typer.Typer(help="Workforce, training and recruitment records.", no_args_is_help=True)


@app.command("ingest")
def ingest_records(
    files: Annotated[
        list[Path], typer.Argument(help="Records file(s): CSV, XLSX, ODS, SAV, Parquet.")
    ],
    kind: Annotated[str, typer.Option(help="workforce, training or recruitment.")],
    year: Annotated[
        int | None,
        typer.Option(help="Extract year; default: the latest year of any date in the file."),
    ] = None,
    region: Annotated[
        str, typer.Option(help="NHS England region of every row; default: each row's own.")
    ] = "",
    mapping: MappingOption = None,
    strict: StrictOption = False,
    issues_out: IssuesOption = None,
    workspace_dir: WorkspaceOption = None,
) -> None:
    """Validate records and store them in records_<kind>; rows with errors go to quarantine."""
    from toolkit.ingest.mapping import read_mapping
    from toolkit.ingest.pipeline import ingest_records_file
    from toolkit.ingest.records import record_instrument_name, record_kind
    from toolkit.instruments.model import instrument_path, load_instrument
    from toolkit.store.database import ResponseStore

    with user_errors():
        check_issues_path(issues_out)
        space = workspace(workspace_dir)
        kind = record_kind(kind)
        instrument = load_instrument(
            instrument_path(space.surveys_dir, record_instrument_name(kind))
        )
        explicit = read_mapping(mapping) if mapping else None
        reports = []
        with ResponseStore(space.store_path) as store:
            for path in files:
                report = ingest_records_file(
                    store, path, kind=kind, instrument=instrument, year=year,
                    region=region or space.region, secret=space.secret(), mapping=explicit,
                    strict=strict, max_unzipped=space.max_unzipped_bytes,
                )  # fmt: skip
                reports.append(report)
                print_report(path, report)
        if issues_out is not None:
            write_issues(reports, issues_out)
