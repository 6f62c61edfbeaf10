"""`ptw quarantine list|export|release|reject`: see, fix, re-admit or reject rows held back."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from toolkit.cli.batch import current_user
from toolkit.cli.common import (
    JsonOption,
    WorkspaceOption,
    batch_instruments,
    console,
    user_errors,
    workspace,
    wrapped_table,
)

if TYPE_CHECKING:
    import pandas as pd

app = typer.Typer(
    help="Rows held back at ingest: list them, export them to fix, release the fixed ones, "
    "reject the genuinely wrong ones.",
    no_args_is_help=True,
)
#: Held rows `release` and `reject` print before pointing to `ptw quarantine list`.
STILL_HELD_SHOWN = 20
BatchOption = Annotated[str | None, typer.Option("--batch", help="Only this batch id.")]


@app.command("list")
def list_rows(
    batch: BatchOption = None,
    released: Annotated[bool, typer.Option(help="Include rows already released.")] = False,
    workspace_dir: WorkspaceOption = None,
    as_json: JsonOption = False,
) -> None:
    """List quarantined rows with their file, source row and reasons."""
    from toolkit.store.database import ResponseStore

    with user_errors():
        with ResponseStore(workspace(workspace_dir).store_path, read_only=True) as store:
            rows = store.quarantine(batch_id=batch, include_released=released)
        columns = [
            "quarantine_id",
            "source_file",
            "source_row",
            "survey",
            "cycle",
            "released",
            "rejected",
            "reasons",
        ]
        if as_json:
            typer.echo(rows[columns].to_json(orient="records"))
            return
        table = wrapped_table(*columns, title=f"{len(rows)} quarantined row(s)")
        for row in rows[columns].itertuples(index=False):
            table.add_row(*(str(v) for v in row))
        console.print(table)


@app.command("export")
def export_rows(
    out: Annotated[Path, typer.Argument(help="CSV or XLSX file to write.")],
    batch: BatchOption = None,
    workspace_dir: WorkspaceOption = None,
) -> None:
    """Write held rows (raw cells, reasons) to a sheet to fix, then `ptw quarantine release` it."""
    from toolkit.ingest.pipeline import quarantine_sheet
    from toolkit.ingest.sheets import write_sheet
    from toolkit.store.database import ResponseStore

    with user_errors():
        with ResponseStore(workspace(workspace_dir).store_path, read_only=True) as store:
            sheet = quarantine_sheet(store.quarantine(batch_id=batch))
        write_sheet(sheet, out)
        console.print(
            f"{len(sheet)} row(s) written to {out}; fix the cells, keep the first five columns"
        )


@app.command("release")
def release_rows(
    fixed: Annotated[Path, typer.Argument(help="The edited file from `ptw quarantine export`.")],
    workspace_dir: WorkspaceOption = None,
) -> None:
    """Re-validate fixed rows; those that pass join their original batch and are marked released."""
    from toolkit.ingest.pipeline import release_quarantined
    from toolkit.store.database import ResponseStore

    with user_errors():
        space = workspace(workspace_dir)
        with ResponseStore(space.store_path) as store:
            report = release_quarantined(
                store, fixed, instruments=batch_instruments(space, store), secret=space.secret(),
                max_unzipped=space.max_unzipped_bytes,
            )  # fmt: skip
            held = store.quarantine()
        console.print(
            f"{report.released} row(s) released, {report.still_held} still held, "
            f"{report.already_released} released before (ignored)"
        )
        errors = report.issues[report.issues["severity"] == "error"]
        for row in errors.head(20).itertuples():
            console.print(
                f"  source row {row.source_row}, column {row.column!r}: {row.message} (value {row.value!r})",
                markup=False,
            )
        print_still_held(held)


def print_still_held(held: pd.DataFrame) -> None:
    """What the store still holds in quarantine and why (the first rows of each file)."""
    if held.empty:
        console.print("Nothing is held in quarantine now.")
        return
    console.print(f"Still held in quarantine: {len(held)} row(s)")
    for row in held.head(STILL_HELD_SHOWN).itertuples():
        console.print(f"  {row.quarantine_id} ({row.source_file}, source row {row.source_row}): "
                      f"{row.reasons}", markup=False)  # fmt: skip
    if len(held) > STILL_HELD_SHOWN:
        console.print(f"  ... and {len(held) - STILL_HELD_SHOWN} more: `ptw quarantine list`")


@app.command("reject")
def reject_rows(
    rows: Annotated[
        list[str], typer.Argument(help="Quarantine ids, as `ptw quarantine list` shows them.")
    ],
    reason: Annotated[str, typer.Option(help="Why the rows are wrong, e.g. 'true duplicate'.")],
    workspace_dir: WorkspaceOption = None,
) -> None:
    """Reject held rows that are genuinely wrong (a true duplicate): never stored, no longer held.

    The audit table records who rejected them, when and why.
    """
    from toolkit.store.database import ResponseStore

    with user_errors():
        with ResponseStore(workspace(workspace_dir).store_path) as store:
            entries = store.reject_quarantined(rows, reason=reason, by=current_user())
            held = store.quarantine()
        console.print(f"{len(entries)} row(s) rejected; recorded in the audit table.")
        print_still_held(held)
