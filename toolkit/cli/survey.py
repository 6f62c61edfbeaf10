"""`ptw survey`: list, show and export the survey instruments."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from toolkit.instrument import load_instrument
from toolkit.resources import surveys_dir

app = typer.Typer(help="List, show and export survey instruments.", no_args_is_help=True)


@app.command("list")
def list_instruments() -> None:
    """List the instruments in the workspace (or the defaults) with version and item count."""
    table = Table("name", "title", "version", "applies from", "items")
    for path in sorted(surveys_dir().glob("*.yaml")):
        instrument = load_instrument(path)
        table.add_row(
            instrument.name,
            instrument.title,
            instrument.version,
            str(instrument.applies_from),
            str(len(instrument.items)),
        )
    Console().print(table)
