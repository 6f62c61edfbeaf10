"""`ptw report [national|regional|trends|methods] [--region R | --all-regions]`."""

from __future__ import annotations

from typing import Annotated

import typer

from toolkit.cli.common import WorkspaceOption, console, user_errors, workspace
from toolkit.config import REGION_NAMES, REPORTS
from toolkit.errors import PtwError


def report(
    name: Annotated[
        str | None,
        typer.Argument(
            help=f"Which report: {', '.join(REPORTS)} (default: national, or regional when "
            "--region is given).",
            show_default=False,
        ),
    ] = None,
    region: Annotated[
        str | None,
        typer.Option(
            help="Region for the regional report, as a code or a name: "
            + ", ".join(f"{code} ({name})" for code, name in REGION_NAMES.items())
            + ". On its own it means the regional report."
        ),
    ] = None,
    all_regions: Annotated[
        bool,
        typer.Option("--all-regions", help="Render national, all 7 regional reports and trends."),
    ] = False,
    formats: Annotated[
        str, typer.Option("--format", help="Comma-separated: html, docx, pdf.")
    ] = "html",
    engine: Annotated[
        str, typer.Option(help="auto (quarto when on PATH), quarto or builtin.")
    ] = "auto",
    workers: Annotated[
        int | None, typer.Option(help="Reports rendered at once (default: the available cores).")
    ] = None,
    workspace_dir: WorkspaceOption = None,
) -> None:
    """Render reports from the results bundle (only if its audit seal verifies at this
    workspace's threshold)."""
    from toolkit.report.render import choose_engine
    from toolkit.report.runner import render_all, report_jobs

    with user_errors():
        if region and all_regions:
            raise PtwError(code="report.options", message="--region and --all-regions exclude "
                           "each other", fix="pass one of them")  # fmt: skip
        space = workspace(workspace_dir)
        jobs = report_jobs(name, region=region, all_regions=all_regions)
        chosen = choose_engine(engine)  # type: ignore[arg-type]
        console.print(f"Rendering {len(jobs)} report(s) with the {chosen} engine ...")
        results = render_all(
            space,
            jobs=jobs,
            formats=tuple(f.strip() for f in formats.split(",") if f.strip()),
            engine=chosen,  # type: ignore[arg-type]
            workers=workers,
        )
        for job, result in zip(jobs, results, strict=True):
            files = ", ".join(str(path) for path in result.outputs.values())
            console.print(f"  {job.output_name} ({result.seconds:.1f} s): {files}")
