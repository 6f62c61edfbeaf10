"""`ptw analyse` and `ptw report`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from toolkit.cli.common import WorkspaceOption, console, user_errors, workspace
from toolkit.config import Workspace


def analyse_workspace(space: Workspace) -> Path:
    """Run the workspace's plan over its store and write the results bundle; return its folder."""
    from toolkit.analysis.plan import load_plan
    from toolkit.analysis.runner import (
        run_plan,  # the statistics stack loads only for commands that use it
    )
    from toolkit.bundle import write_bundle
    from toolkit.disclosure.suppression import SuppressionPolicy
    from toolkit.store.database import ResponseStore

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
