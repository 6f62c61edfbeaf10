"""The `ptw` command line: one sub-module per command group."""

import typer

from toolkit.cli import (
    analyse,
    batch,
    demo,
    ingest,
    quarantine,
    records,
    report,
    store,
    survey,
    workspace,
)

app = typer.Typer(
    help="ptw: pharmacy technician workforce equality toolkit.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command()(demo.demo)
app.command()(demo.synth)
app.command()(workspace.init)
app.command()(workspace.status)
app.command()(workspace.doctor)
app.command()(ingest.ingest)
app.command()(analyse.analyse)
app.command()(report.report)
app.add_typer(survey.app, name="survey")
app.add_typer(records.app, name="records")
app.add_typer(quarantine.app, name="quarantine")
app.add_typer(batch.app, name="batch")
app.command()(store.export)
app.command()(store.merge)


def main() -> None:
    """Entry point of the `ptw` console script."""
    app()
