"""`ptw analyse` and `ptw report`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from toolkit.analysis import run_plan
from toolkit.bundle import write_bundle
from toolkit.cli.common import WorkspaceOption, console, user_errors, workspace
from toolkit.config import Workspace
from toolkit.disclosure import SuppressionPolicy
from toolkit.plan import load_plan
from toolkit.render import RenderResult, render_report
from toolkit.store import ResponseStore


def analyse_workspace(space: Workspace) -> Path:
    """Run the workspace's plan over its store and write the results bundle; return its folder."""
    plan = load_plan(space.plan_path)
    policy = SuppressionPolicy(threshold=space.threshold, rounding=space.rounding)
    with ResponseStore(space.store_path, read_only=True) as store:
        bundle = run_plan(
            plan,
            store=store,
            surveys_dir=space.surveys_dir,
            policy=policy,
            plan_dir=space.plan_path.parent,
        )
    return write_bundle(bundle, space.bundle_dir)


def analyse(
    threshold: Annotated[
        int | None, typer.Option(help="Minimum published group size (>= 5); default from ptw.toml.")
    ] = None,
    workspace_dir: WorkspaceOption = None,
) -> None:
    """Run the analysis plan over the store and write the results bundle (Parquet + manifest)."""
    with user_errors():
        space = workspace(workspace_dir).with_threshold(threshold)
        folder = analyse_workspace(space)
        console.print(f"Results bundle written to {folder}")


def render_national(
    space: Workspace, *, formats: tuple[str, ...] = ("html",), engine: str = "auto"
) -> RenderResult:
    """Render the national report from the workspace's bundle."""
    return render_report(
        space.reports_dir / "national.qmd",
        config={"bundle": str(space.bundle_dir.resolve()), "region": "England"},
        out_dir=space.report_dir,
        formats=formats,
        engine=engine,  # type: ignore[arg-type]
    )


def report(
    name: Annotated[str, typer.Argument(help="Which report: national.")] = "national",
    formats: Annotated[
        str, typer.Option("--format", help="Comma-separated: html, docx, pdf.")
    ] = "html",
    engine: Annotated[
        str, typer.Option(help="auto (quarto when on PATH), quarto or builtin.")
    ] = "auto",
    workspace_dir: WorkspaceOption = None,
) -> None:
    """Render a report from the results bundle."""
    with user_errors():
        space = workspace(workspace_dir)
        result = render_national(
            space, formats=tuple(f.strip() for f in formats.split(",")), engine=engine
        )
        console.print(f"Rendered with the {result.engine} engine in {result.seconds:.1f} s:")
        for fmt, path in result.outputs.items():
            console.print(f"  {fmt}: {path}")
