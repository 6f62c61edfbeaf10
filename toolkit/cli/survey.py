"""`ptw survey`: list, show, export and compare the survey instruments."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from toolkit.cli.common import JsonOption, WorkspaceOption, console, user_errors, workspace
from toolkit.config import CONFIG_NAME
from toolkit.errors import InstrumentError
from toolkit.resources import surveys_dir

if TYPE_CHECKING:
    import pandas as pd

    from toolkit.instruments.model import Instrument

app = typer.Typer(help="List, show, export and compare survey instruments.", no_args_is_help=True)

SurveysOption = Annotated[
    Path | None,
    typer.Option(
        "--surveys",
        help="Instrument folder (default: the workspace's, else the shipped surveys/).",
        show_default=False,
    ),
]
InstrumentArgument = Annotated[
    str,
    typer.Argument(
        help="Instrument name (retention), NAME@VERSION (retention@2026.1) or a YAML file."
    ),
]


def _folder(surveys: Path | None, workspace_dir: Path | None) -> Path:
    """The instrument folder: --surveys, else the workspace's, else the shipped one."""
    if surveys is not None:
        return surveys
    if workspace_dir is not None or (Path.cwd() / CONFIG_NAME).exists():
        return workspace(workspace_dir).surveys_dir
    return surveys_dir()


def _resolve(reference: str, folder: Path) -> Instrument:
    """Load an instrument named by name, NAME@VERSION or path."""
    from toolkit.instruments.model import instrument_path, load_instrument
    from toolkit.instruments.versions import instrument_versions

    path = Path(reference)
    if path.suffix in (".yaml", ".yml") and path.exists():
        return load_instrument(path)
    name, _, version = reference.partition("@")
    if not version:
        return load_instrument(instrument_path(folder, name))
    versions = instrument_versions(folder, name)
    for instrument in versions:
        if instrument.version == version:
            return instrument
    raise InstrumentError(
        code="instrument.unknown_version",
        message=f"instrument {name!r} has no version {version!r}",
        file=str(folder),
        expected=", ".join(v.version for v in versions),
        fix="run `ptw survey list` to see the versions available",
    )


def _print_frame(frame: pd.DataFrame, title: str) -> None:
    import pandas as pd

    table = Table(*frame.columns, title=title, show_lines=False)
    for row in frame.itertuples(index=False):
        table.add_row(*("" if pd.isna(v) else str(v) for v in row))
    console.print(table)


@app.command("list")
def list_instruments(
    surveys: SurveysOption = None,
    workspace_dir: WorkspaceOption = None,
    as_json: JsonOption = False,
) -> None:
    """List the instruments (surveys and shared modules) with version, cycle and item count."""
    import pandas as pd

    from toolkit.instruments.model import load_instrument
    from toolkit.instruments.versions import instrument_versions

    with user_errors():
        folder = _folder(surveys, workspace_dir)
        rows = []
        for path in sorted(folder.glob("*.yaml")):
            instrument = load_instrument(path)
            versions = instrument_versions(folder, instrument.name)
            rows.append({
                "name": instrument.name, "kind": instrument.kind, "title": instrument.title,
                "version": instrument.version, "applies_from": instrument.applies_from,
                "items": len(instrument.items),
                "versions": ", ".join(v.version for v in versions),
            })  # fmt: skip
        if as_json:
            console.print_json(json.dumps(rows))
        else:
            _print_frame(pd.DataFrame(rows), f"Instruments in {folder}")


@app.command("show")
def show(
    name: InstrumentArgument,
    surveys: SurveysOption = None,
    workspace_dir: WorkspaceOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show an instrument's items (type, routing, standards, scales) and its scales."""
    import pandas as pd

    from toolkit.instruments.export.tables import items_table

    with user_errors():
        instrument = _resolve(name, _folder(surveys, workspace_dir))
        items = items_table(instrument)
        if as_json:
            console.print_json(items.to_json(orient="records"))
            return
        console.print(
            f"[bold]{instrument.title}[/] ({instrument.name} {instrument.version}, from "
            f"{instrument.applies_from}): {len(instrument.items)} items, "
            f"{len(instrument.scales)} scales, {len(instrument.dimensions)} dimensions"
        )
        columns = ["item", "type", "choice_list", "relevant", "nss_item", "standards", "scales"]
        _print_frame(items[columns], "Items")
        if instrument.scales:
            _print_frame(
                pd.DataFrame(
                    [
                        (s.name, ", ".join(s.items), s.min_answered, s.nss_theme or "")
                        for s in instrument.scales
                    ],
                    columns=["scale", "items", "min_answered", "nss_theme"],
                ),
                "Scales",
            )


@app.command("export")
def export(
    name: InstrumentArgument,
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            help="codebook (HTML + XLSX), template (CSV + XLSX with drop-downs), "
            "questionnaire (HTML + docx) or xlsform (ODK / KoboToolbox workbook).",
        ),
    ],
    out: Annotated[Path, typer.Option(help="Folder to write into.")] = Path("survey-exports"),
    surveys: SurveysOption = None,
    workspace_dir: WorkspaceOption = None,
) -> None:
    """Export an instrument as a codebook, import template, questionnaire or XLSForm."""
    from toolkit.instruments.export import export_instrument

    with user_errors():
        instrument = _resolve(name, _folder(surveys, workspace_dir))
        for path in export_instrument(instrument, fmt, out):
            console.print(f"wrote {path}")


@app.command("diff")
def diff(
    old: InstrumentArgument,
    new: InstrumentArgument,
    surveys: SurveysOption = None,
    workspace_dir: WorkspaceOption = None,
    as_json: JsonOption = False,
) -> None:
    """Compare two versions: each change, whether declared, which trends stay comparable.

    Exits with status 1 when a change is not declared in the new version's `previous` block.
    """
    from toolkit.instruments.versions import comparable_items, diff_instruments

    with user_errors():
        folder = _folder(surveys, workspace_dir)
        changes = diff_instruments(_resolve(old, folder), _resolve(new, folder))
        summary = comparable_items(changes)
        undeclared = changes[~changes["declared"]]
        if as_json:
            console.print_json(changes.to_json(orient="records"))
        else:
            _print_frame(changes[changes["change"] != "unchanged"], "Changes")
            broken = summary[~summary["comparable"]]
            console.print(
                f"{int(summary['comparable'].sum())} of {len(summary)} items and scales keep "
                f"comparable trends; not comparable: {', '.join(broken['name']) or 'none'}."
            )
        if len(undeclared):
            raise InstrumentError(
                code="instrument.undeclared_change",
                message=f"{len(undeclared)} change(s) are not declared in the new version: "
                + ", ".join(
                    f"{n or p} ({c})"
                    for n, p, c in undeclared[["name", "previous_name", "change"]].itertuples(
                        index=False
                    )
                ),
                fix="declare them under 'previous' (renamed, recoded, reworded, new, dropped)",
            )
