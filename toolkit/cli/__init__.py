"""The `ptw` command line."""

import typer

app = typer.Typer(help="ptw: pharmacy technician workforce equality toolkit.", no_args_is_help=True)


def main() -> None:
    """Entry point of the `ptw` console script."""
    app()
