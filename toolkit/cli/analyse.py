"""`ptw analyse` and `ptw report`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from toolkit.cli.common import WorkspaceOption, console, user_errors, workspace
from toolkit.config import Workspace


def analyse_workspace(space: Workspace) -> Path:
    """Run the workspace's plan over its store and write the sealed results bundle; return its
    folder.

    The audit seal (``toolkit.bundle``) is written only after the disclosure checks passed at
    the threshold used (``space.threshold``: ptw.toml's, or `--threshold`): ``run_plan`` has
    the independent auditor attack every count the release publishes (England, every region,
    every cycle, every count table together; ``toolkit.disclosure.audit.assert_protected``)
    and ends with the suppressor's own audit (``assert_no_disclosure`` over every table it
    suppressed); the tables it derives without an audit layout must show no number in a
    suppressed row (``assert_blanked``). A failing check raises, naming the table, cell, range
    and route, and writes nothing. `ptw report` and
    `ptw export --excel` publish only from a bundle whose seal verifies with this workspace's
    key at its threshold or higher.

    Raises:
        DisclosureError: a check found a number that would reveal a small group.
    """
    from toolkit.analysis.plan import load_plan
    from toolkit.analysis.runner import (  # the statistics stack loads only for commands that use it
        BUNDLE_LAYOUTS,
        run_plan,
    )
    from toolkit.bundle import write_bundle
    from toolkit.disclosure.blanks import assert_blanked
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
    assert_blanked({name: t for name, t in bundle.tables.items() if name not in BUNDLE_LAYOUTS})
    return write_bundle(
        bundle, space.bundle_dir, key=space.secret(), audited_threshold=policy.threshold
    )


def analyse(
    threshold: Annotated[
        int | None, typer.Option(help="Minimum published group size (>= 5); default from ptw.toml.")
    ] = None,
    workspace_dir: WorkspaceOption = None,
) -> None:
    """Run the analysis plan over the store and write the results bundle (Parquet + manifest),
    sealed as having passed the disclosure audit at the threshold used."""
    with user_errors():
        space = workspace(workspace_dir).with_threshold(threshold)
        folder = analyse_workspace(space)
        console.print(f"Results bundle written to {folder}")
