"""`ptw init`, `ptw status` and `ptw doctor`."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Annotated

import typer

from toolkit import __version__
from toolkit.cli.common import (
    JsonOption,
    WorkspaceOption,
    console,
    user_errors,
    workspace,
    wrapped_table,
)
from toolkit.config import init_workspace
from toolkit.errors import PtwError


def init(
    folder: Annotated[Path, typer.Argument(help="Folder to create the workspace in.")] = Path("."),
) -> None:
    """Create a workspace: ptw.toml, the store folder, the output folder and a private key."""
    with user_errors():
        space = init_workspace(folder)
        console.print(f"Workspace ready in {space.root} (store: {space.store_path})")


def status(workspace_dir: WorkspaceOption = None, as_json: JsonOption = False) -> None:
    """Show what the store holds: batches and rows by survey, cycle and region, and quarantine."""
    from toolkit.store.database import ResponseStore

    with user_errors():
        space = workspace(workspace_dir)
        if not space.store_path.exists():
            summary = _status_summary(None, None)
        else:
            with ResponseStore(space.store_path, read_only=True) as store:
                summary = _status_summary(store.counts(), store.stored_counts())
        if as_json:
            console.print_json(json.dumps(summary))
            return
        columns = ("kind", "survey", "cycle", "region", "batches", "accepted", "quarantined",
                   "warned", "skipped")  # fmt: skip
        table = wrapped_table(*columns, title="Batches")
        for row in summary["by_batch_group"]:
            table.add_row(*(str(row[c]) for c in columns))
        console.print(table)
        console.print(
            f"{summary['responses']} responses and {summary['records']} records in "
            f"{summary['batches']} batch(es); {summary['quarantined']} row(s) in quarantine"
        )


def _status_summary(counts: object, stored: object) -> dict[str, object]:
    """The status as plain data: totals, counts by cycle and region, batch groups.

    ``responses`` and ``by_cycle`` / ``by_region`` count survey responses held in the
    ``responses_*`` tables; ``records`` counts rows of the ``records_*`` tables;
    ``quarantined`` counts rows still held.
    """
    import pandas as pd

    frame = counts if isinstance(counts, pd.DataFrame) else pd.DataFrame()
    rows = stored if isinstance(stored, pd.DataFrame) else pd.DataFrame(
        columns=["table", "kind", "name", "cycle", "region", "rows"]
    )  # fmt: skip
    responses = rows[rows["kind"] == "responses"]
    return {
        "responses": int(responses["rows"].sum()),
        "records": int(rows.loc[rows["kind"] == "records", "rows"].sum()),
        "batches": int(frame["batches"].sum()) if not frame.empty else 0,
        "quarantined": int(frame["quarantined"].sum()) if not frame.empty else 0,
        "by_cycle": {str(k): int(v) for k, v in responses.groupby("cycle")["rows"].sum().items()},
        "by_region": {str(k): int(v) for k, v in responses.groupby("region")["rows"].sum().items()},
        "by_table": json.loads(rows.to_json(orient="records")),
        "by_batch_group": json.loads(frame.to_json(orient="records")) if not frame.empty else [],
    }


def doctor(workspace_dir: WorkspaceOption = None, as_json: JsonOption = False) -> None:
    """Check the installation: report engines and formats, versions, and the workspace's store."""
    from toolkit.report.render import available_engines

    engines = available_engines()
    try:
        space = workspace(workspace_dir)
        store = str(space.store_path)
    except PtwError as exc:
        store = f"no workspace here ({exc})"
    facts = {
        "ptw": __version__,
        "python": sys.version.split()[0],
        "engines": engines,
        "chromium": shutil.which("chromium") or "not found",
        "store": store,
    }
    if as_json:
        console.print_json(json.dumps(facts, default=str))
        return
    for key, value in facts.items():
        console.print(f"[bold]{key}[/]: {value}")
