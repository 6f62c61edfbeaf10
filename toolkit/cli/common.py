"""Shared pieces of the command line: the workspace option and error reporting."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Column, Table

from toolkit.config import Workspace, load_workspace
from toolkit.errors import PtwError

if TYPE_CHECKING:
    from toolkit.instruments.model import Instrument
    from toolkit.store.database import ResponseStore

console = Console()
errors = Console(stderr=True)

WorkspaceOption = Annotated[
    Path | None,
    typer.Option(
        "--workspace",
        "-w",
        help="Workspace folder (default: the current directory).",
        show_default=False,
    ),
]
JsonOption = Annotated[
    bool, typer.Option("--json", help="Print machine-readable JSON instead of a table.")
]


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn a :class:`PtwError` into a plain message on stderr and exit status 1."""
    try:
        yield
    except PtwError as error:
        errors.print(
            f"[bold red]error:[/] {escape(str(error))}",
            markup=True,
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(code=1) from error


def workspace(folder: Path | None) -> Workspace:
    """The workspace in ``folder`` or the current directory."""
    return load_workspace(folder)


def batch_instruments(space: Workspace, store: ResponseStore) -> dict[tuple[str, str], Instrument]:
    """``(kind, name)`` -> instrument, for every kind of batch the store holds."""
    from toolkit.ingest.records import record_instrument_name
    from toolkit.instruments.model import instrument_path, load_instrument

    batches = store.batches()
    found: dict[tuple[str, str], Instrument] = {}
    for kind, name in set(zip(batches["kind"], batches["survey"], strict=True)):
        file_name = name if kind == "survey" else record_instrument_name(name)
        found[(kind, name)] = load_instrument(instrument_path(space.surveys_dir, file_name))
    return found


def wrapped_table(*columns: str, title: str) -> Table:
    """A table whose cells wrap onto more lines instead of being cut short with "...",
    so ids, file names and messages are always shown whole, however narrow the terminal."""
    return Table(*(Column(name, overflow="fold") for name in columns), title=title)
