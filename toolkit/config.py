"""Workspaces: a folder with ``ptw.toml``, the store, the outputs and a pseudonymisation key.

``ptw.toml`` (DESIGN.md decision 8)::

    [workspace]
    store = "store/ptw.duckdb"   # the DuckDB response store
    output = "out"               # bundles and reports
    region = ""                  # default region for ingest, optional
    [suppression]
    threshold = 10               # minimum group size for any published number (never below 5)
    rounding = "none"            # none | nhs_digital | ons_10_5
    [analysis]
    plan = ""                    # analysis plan; empty = the shipped analysis/plan.yaml
    surveys = ""                 # instrument folder; empty = the shipped surveys/
    [ingest]
    max_unzipped_mb = 300        # an .xlsx/.ods expanding past this is refused (zip bombs)
    [publication]                # printed at the top of every report
    publisher = "NHS England"
    contact = "..."              # who readers should contact
    published = ""               # YYYY-MM-DD; empty = the day the report is rendered
    next_update = ""             # e.g. "December 2027"; empty = a year after publication
    methods = "methods.html"     # link to the methods report
    synthetic = false            # true labels every report as synthetic demonstration data

Command-line options override these values.
"""

from __future__ import annotations

import os
import secrets
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from toolkit.errors import PtwError
from toolkit.resources import analysis_dir, reports_dir, surveys_dir

CONFIG_NAME = "ptw.toml"
SECRET_NAME = ".ptw-secret"
MIN_THRESHOLD = 5
#: Default of ``[ingest] max_unzipped_mb``: a workbook (a zip) may expand to this many MB.
MAX_UNZIPPED_MB = 300
MAX_UNZIPPED_BYTES = MAX_UNZIPPED_MB * 2**20
#: The reports ``ptw report`` renders (one Quarto template each in ``reports/``). Kept here, in a
#: module without heavy imports, so ``ptw --help`` can list them; the report runner uses them.
REPORTS = ("national", "regional", "trends", "methods")
#: NHS England region codes and names (England excluded), as the regional reports and a
#: workspace's ``region`` name them (the report runner and sentences use this one copy).
REGION_NAMES: dict[str, str] = {
    "EOE": "East of England",
    "LON": "London",
    "MID": "Midlands",
    "NEY": "North East and Yorkshire",
    "NW": "North West",
    "SE": "South East",
    "SW": "South West",
}

DEFAULT_TOML = """\
# ptw workspace settings; command-line options override them.
[workspace]
store = "store/ptw.duckdb"
output = "{output}"
region = ""

[suppression]
threshold = 10
rounding = "none"

[analysis]
plan = ""
surveys = ""

[ingest]
max_unzipped_mb = 300

[publication]
publisher = "NHS England"
contact = "the pharmacy technician workforce equality team"
published = ""
next_update = ""
methods = "methods.html"
synthetic = {synthetic}
"""


@dataclass(frozen=True)
class Workspace:
    """A resolved workspace.

    Attributes:
        root: the workspace folder.
        store_path: the DuckDB file.
        output_dir: where bundles and reports go.
        surveys_dir: instrument definitions in force.
        plan_path: the analysis plan in force.
        reports_dir: report templates in force.
        region: default region for ingest ('' for none).
        threshold: minimum published group size.
        rounding: count rounding policy.
        max_unzipped_bytes: what an .xlsx/.ods may expand to when read.
        publication: the [publication] settings printed on every report.
    """

    root: Path
    store_path: Path
    output_dir: Path
    surveys_dir: Path
    plan_path: Path
    reports_dir: Path
    region: str = ""
    threshold: int = 10
    rounding: str = "none"
    max_unzipped_bytes: int = MAX_UNZIPPED_BYTES
    publication: Mapping[str, object] = field(default_factory=dict)

    @property
    def bundle_dir(self) -> Path:
        """The results bundle written by ``ptw analyse``."""
        return self.output_dir / "bundle"

    @property
    def report_dir(self) -> Path:
        """Rendered reports."""
        return self.output_dir / "reports"

    def secret(self) -> bytes:
        """The per-workspace key used to pseudonymise respondent identifiers."""
        path = self.root / SECRET_NAME
        if not path.exists():
            raise PtwError(
                code="workspace.no_secret",
                message="this workspace has no pseudonymisation key",
                file=str(path),
                fix="run `ptw init` in this folder (it keeps existing data) to create the key",
            )
        return bytes.fromhex(path.read_text().strip())

    def with_threshold(self, threshold: int | None) -> Workspace:
        """A copy with the suppression threshold overridden (``None`` keeps it)."""
        if threshold is None:
            return self
        return replace(self, threshold=_checked_threshold(threshold, source=None))


def _checked_threshold(value: object, *, source: Path | None) -> int:
    """``value`` when it is a whole number of at least :data:`MIN_THRESHOLD`.

    Args:
        source: the ``ptw.toml`` it was read from, or ``None`` for the ``--threshold`` option
            (the message then blames the option, not the file).
    """
    if not isinstance(value, int) or value < MIN_THRESHOLD:
        raise PtwError(
            code="workspace.threshold_too_low",
            message="the suppression threshold must be a whole number of at least 5"
            + ("" if source else " (--threshold)"),
            file=str(source) if source else None,
            value=value,
            expected=f"an integer >= {MIN_THRESHOLD}",
            fix="set [suppression] threshold = 10 (the default) or higher in ptw.toml"
            if source
            else f"pass --threshold {MIN_THRESHOLD} or higher, or leave it out to use ptw.toml's",
        )
    return value


def init_workspace(root: Path, *, output: str = "out", synthetic: bool = False) -> Workspace:
    """Create (or complete) a workspace in ``root`` and return it.

    Writes ``ptw.toml`` if absent (with ``output`` as the output folder, relative to ``root``,
    and ``synthetic`` marking the reports as synthetic demonstration data), the store and
    output folders, and a random 32-byte pseudonymisation key in ``.ptw-secret`` with file
    mode 0600. Existing files are kept.
    """
    root.mkdir(parents=True, exist_ok=True)
    config = root / CONFIG_NAME
    if not config.exists():
        config.write_text(
            DEFAULT_TOML.format(output=output, synthetic=str(synthetic).lower()), encoding="utf-8"
        )
    secret = root / SECRET_NAME
    if not secret.exists():
        descriptor = os.open(secret, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_hex(32))
    workspace = load_workspace(root)
    workspace.store_path.parent.mkdir(parents=True, exist_ok=True)
    workspace.output_dir.mkdir(parents=True, exist_ok=True)
    return workspace


def load_workspace(root: Path | None = None) -> Workspace:
    """Read the workspace in ``root`` (default: the current directory).

    Raises:
        PtwError: there is no ``ptw.toml`` there, or it is invalid.
    """
    folder = (root or Path.cwd()).resolve()
    config = folder / CONFIG_NAME
    if not config.exists():
        raise PtwError(
            code="workspace.missing",
            message=f"no ptw workspace in {folder}",
            file=str(config),
            fix="run `ptw init DIR` to create one, or pass --workspace DIR",
        )
    try:
        settings = tomllib.loads(config.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise PtwError(
            code="workspace.bad_toml",
            message=f"ptw.toml is not valid TOML: {exc}",
            file=str(config),
            fix="correct the line named, or delete ptw.toml and run `ptw init` again",
        ) from exc
    space = settings.get("workspace", {})
    suppression = settings.get("suppression", {})
    analysis = settings.get("analysis", {})
    unzipped = settings.get("ingest", {}).get("max_unzipped_mb", MAX_UNZIPPED_MB)
    if isinstance(unzipped, bool) or not isinstance(unzipped, int | float) or unzipped <= 0:
        raise PtwError(
            code="workspace.bad_max_unzipped",
            message="[ingest] max_unzipped_mb must be a positive number of megabytes",
            file=str(config),
            value=unzipped,
            expected="a number above 0",
            fix=f"set [ingest] max_unzipped_mb = {MAX_UNZIPPED_MB} (the default)",
        )
    rounding = suppression.get("rounding", "none")
    if rounding not in ("none", "nhs_digital", "ons_10_5"):
        raise PtwError(
            code="workspace.bad_rounding",
            message="unknown rounding policy",
            file=str(config),
            value=rounding,
            expected="none, nhs_digital or ons_10_5",
        )
    return Workspace(
        root=folder,
        store_path=folder / space.get("store", "store/ptw.duckdb"),
        output_dir=folder / space.get("output", "out"),
        surveys_dir=_folder_or_default(folder, analysis.get("surveys", ""), surveys_dir()),
        plan_path=_plan_path(folder, analysis.get("plan", "")),
        reports_dir=_folder_or_default(folder, space.get("reports", ""), reports_dir()),
        region=space.get("region", ""),
        threshold=_checked_threshold(suppression.get("threshold", 10), source=config),
        rounding=rounding,
        max_unzipped_bytes=int(unzipped * 2**20),
        publication=dict(settings.get("publication", {})),
    )


def _folder_or_default(root: Path, configured: str, default: Path) -> Path:
    return root / configured if configured else default


def _plan_path(root: Path, configured: str) -> Path:
    return root / configured if configured else analysis_dir() / "plan.yaml"
