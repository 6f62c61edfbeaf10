"""`ptw batch list|remove`: see the ingested files and take a wrong one out again."""

from __future__ import annotations

import getpass
from typing import Annotated

import typer

from toolkit.cli.common import (
    JsonOption,
    WorkspaceOption,
    console,
    user_errors,
    workspace,
    wrapped_table,
)

app = typer.Typer(
    help="Ingested files (batches): list them, or remove one to ingest it again.",
    no_args_is_help=True,
)
#: Columns of `ptw batch list`.
LIST_COLUMNS = ("batch_id", "source_file", "kind", "survey", "cycle", "region", "accepted",
                "quarantined", "ingested_at")  # fmt: skip


def current_user() -> str:
    """Who is running the command, for the audit table (``unknown`` when the system cannot tell)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


@app.command("list")
def list_batches(workspace_dir: WorkspaceOption = None, as_json: JsonOption = False) -> None:
    """List the batches (one per ingested file), oldest first."""
    from toolkit.store.database import ResponseStore

    with user_errors():
        with ResponseStore(workspace(workspace_dir).store_path, read_only=True) as store:
            batches = store.batches()[list(LIST_COLUMNS)]
        if as_json:
            typer.echo(batches.to_json(orient="records", date_format="iso"))
            return
        table = wrapped_table(*LIST_COLUMNS, title=f"{len(batches)} batch(es)")
        for row in batches.itertuples(index=False):
            table.add_row(*(str(v) for v in row))
        console.print(table)


@app.command("remove")
def remove_batch(
    batch: Annotated[str, typer.Argument(help="The batch id, as `ptw batch list` shows it.")],
    reason: Annotated[
        str, typer.Option(help="Why the batch is removed (kept in the audit table).")
    ],
    workspace_dir: WorkspaceOption = None,
) -> None:
    """Remove one batch (its rows, quarantine and issues) in one transaction.

    The audit table records who removed it, when and why; the file can then be ingested again.
    """
    from toolkit.store.database import ResponseStore

    with user_errors():
        with ResponseStore(workspace(workspace_dir).store_path) as store:
            entry = store.remove_batch(batch, reason=reason, by=current_user())
        console.print(
            f"Batch {batch} ({entry['source_file']}) removed: {entry['rows']} row(s) and "
            f"{entry['quarantined']} quarantined row(s); recorded in the audit table. "
            "The file can be ingested again."
        )
