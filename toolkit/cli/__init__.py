"""The `ptw` command line: one sub-module per command group."""

import typer

from toolkit.cli import survey

app = typer.Typer(help="ptw: pharmacy technician workforce equality toolkit.", no_args_is_help=True)
app.add_typer(survey.app, name="survey")


def main() -> None:
    """Entry point of the `ptw` console script."""
    app()
