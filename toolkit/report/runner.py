"""Which reports to render, and rendering them in parallel after a disclosure re-check.

Steps of :func:`render_all`:

1. read the results bundle and re-check it for disclosure (``audit_disclosure`` on every table
   that has a base and groups; for every other table, no number in a suppressed row): a bundle
   that fails is never rendered;
2. render each job (template x region) with ``toolkit.report.render.render_report`` on a pool of
   ``workers`` threads (each render runs its own kernel and pandoc processes in its own
   temporary copy of the templates folder, so renders never share files);
3. return the results in job order: the same jobs give the same files whatever the timing.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from toolkit.bundle import Bundle, audited_threshold, read_bundle
from toolkit.config import Workspace
from toolkit.disclosure.audit import assert_protected
from toolkit.disclosure.suppression import Link, SuppressionPolicy, audit_disclosure
from toolkit.errors import PtwError
from toolkit.report.render import Engine, RenderResult, render_report

REPORTS = ("national", "regional", "trends", "methods")
REGIONS = ("EOE", "LON", "MID", "NEY", "NW", "SE", "SW")
NATIONAL = "England"


@dataclass(frozen=True)
class ReportJob:
    """One report to render: the template stem, the region and the output file stem."""

    template: str
    region: str
    output_name: str


@dataclass(frozen=True)
class ReportPaths:
    """Where the bundle and templates are read and the reports written."""

    bundle_dir: Path
    reports_dir: Path
    out_dir: Path
    threshold: int = 10
    """The workspace's minimum group size: the bundle is audited against it, never the manifest's."""
    seal_key: bytes | None = None
    """The workspace secret: a bundle sealed with it at ``ptw analyse`` skips the full attack."""

    @classmethod
    def of(cls, space: Workspace) -> ReportPaths:
        """The paths, threshold and seal key of a workspace."""
        return cls(space.bundle_dir, space.reports_dir, space.report_dir, space.threshold,
                   seal_key(space))  # fmt: skip


def seal_key(space: Workspace) -> bytes | None:
    """The workspace's secret, or ``None`` when it has none (bundles are then always attacked)."""
    try:
        return space.secret()
    except PtwError:
        return None


def check_release(bundle: Bundle, *, threshold: int, key: bytes | None, where: Path) -> None:
    """The gate before anything is published from ``bundle`` (reports, the Excel workbook).

    Refuses a bundle analysed with a lower threshold than the workspace's; then trusts a bundle
    whose audit seal verifies with ``key`` at ``threshold`` or higher (the analysis already
    attacked exactly these files), and otherwise runs the independent attack
    (:func:`toolkit.disclosure.audit.assert_protected`) against ``threshold``.

    Raises:
        PtwError: ``release.threshold_below_workspace``; DisclosureError
            ``disclosure.recoverable`` naming the table, cell and route.
    """
    suppression = bundle.manifest.get("suppression")
    analysed = suppression.get("threshold") if isinstance(suppression, dict) else None
    if not isinstance(analysed, int) or analysed < threshold:
        raise PtwError(
            code="release.threshold_below_workspace",
            message=f"the results bundle was analysed with a threshold of {analysed!r}, below "
            f"this workspace's {threshold}",
            file=str(where),
            expected=f"a bundle analysed with a threshold of at least {threshold}",
            fix="re-run `ptw analyse` in this workspace",
        )
    if key is not None and (audited_threshold(bundle, key) or 0) >= threshold:
        return
    assert_protected(bundle.tables, threshold=threshold)


def report_jobs(
    name: str | None, *, region: str | None = None, all_regions: bool = False
) -> list[ReportJob]:
    """The jobs for ``ptw report NAME [--region R | --all-regions]``.

    ``all_regions``: national, the 7 regional reports and trends (plus methods when ``name``
    is ``methods``). Otherwise one job; ``regional`` needs a ``region`` among :data:`REGIONS`.

    Raises:
        PtwError: unknown report name or region, or ``regional`` without a region.
    """
    if all_regions:
        jobs = [_job("national", NATIONAL)] + [_job("regional", code) for code in REGIONS]
        jobs.append(_job("trends", NATIONAL))
        return jobs + ([_job("methods", NATIONAL)] if name == "methods" else [])
    if name not in REPORTS:
        raise PtwError(code="report.unknown", message="unknown report", value=name,
                       expected=", ".join(REPORTS), fix="name one of the reports, or pass --all-regions")  # fmt: skip
    if name == "regional":
        if region not in REGIONS:
            raise PtwError(code="report.region", message="a regional report needs a region code",
                           value=region, expected=", ".join(REGIONS),
                           fix="pass --region with one of the codes, or --all-regions")  # fmt: skip
        return [_job(name, region)]
    return [_job(name, NATIONAL)]


def _job(template: str, region: str) -> ReportJob:
    return ReportJob(template, region, template if template != "regional" else f"regional-{region}")


def disclosure_findings(bundle: Bundle) -> pd.DataFrame:
    """Disclosure problems in ``bundle`` (empty when none): ``audit_disclosure`` columns.

    Every table the analysis suppresses is audited again with the analysis's own layouts,
    links and group hierarchy (``toolkit.analysis.runner.BUNDLE_LAYOUTS``, ``BUNDLE_LINKS`` and the
    bundle's ``group_hierarchy`` table); any other table with a ``suppressed`` column only for
    numbers left in suppressed rows (column ``problem`` says which).
    """
    from toolkit.analysis.runner import (  # heavy; only here
        BUNDLE_LAYOUTS,
        BUNDLE_LINKS,
        HIERARCHY_TABLE,
    )

    suppression = bundle.manifest.get("suppression", {})
    policy = SuppressionPolicy(threshold=int(suppression.get("threshold", 10)),
                               rounding=suppression.get("rounding", "none"))  # fmt: skip
    audited = {name: frame for name, frame in bundle.tables.items() if name in BUNDLE_LAYOUTS}
    links = [
        Link(tuple(t for t in link.tables if t in audited), link.on)
        for link in BUNDLE_LINKS
        if sum(t in audited for t in link.tables) > 1
    ]
    hierarchy = bundle.tables.get(HIERARCHY_TABLE)
    findings = [
        audit_disclosure(
            audited, policy=policy, layouts=BUNDLE_LAYOUTS, links=links, hierarchy=hierarchy
        )
    ]
    for name, frame in sorted(bundle.tables.items()):
        if name not in audited and "suppressed" in frame.columns:
            findings.append(_numbers_in_suppressed(name, frame))
    return pd.concat(findings, ignore_index=True)


def _numbers_in_suppressed(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    hidden = frame["suppressed"].astype("boolean").fillna(False).astype(bool).to_numpy()
    rows = []
    for column in frame.columns:
        if column != "suppressed" and pd.api.types.is_float_dtype(frame[column]):
            for row in (hidden & frame[column].notna().to_numpy()).nonzero()[0]:
                rows.append((name, int(row), column, float(frame[column].iloc[row]),
                             "a number left in a suppressed row"))  # fmt: skip
    return pd.DataFrame(rows, columns=["table", "row", "column", "value", "problem"])


def check_bundle(
    bundle: Bundle, *, where: Path, threshold: int = 10, key: bytes | None = None
) -> None:
    """Raise unless ``bundle`` passes :func:`check_release` (at the workspace's ``threshold``)
    and the row checks of :func:`disclosure_findings`.

    Raises:
        PtwError: as :func:`check_release`; ``report.disclosure`` naming the first problem of
            the row checks and how many there are.
    """
    check_release(bundle, threshold=threshold, key=key, where=where)
    findings = disclosure_findings(bundle)
    if findings.empty:
        return
    first = findings.iloc[0]
    raise PtwError(
        code="report.disclosure",
        message=f"the results bundle fails the disclosure check ({len(findings)} problem(s)); "
        f"first: table {first['table']}, row {first['row']}, column {first['column']}: "
        f"{first['problem']}",
        file=str(where),
        fix="re-run `ptw analyse` so disclosure control is applied; never edit a bundle by hand",
    )


def render_all(
    source: Workspace | ReportPaths,
    *,
    jobs: Sequence[ReportJob],
    formats: Sequence[str] = ("html",),
    engine: Engine = "auto",
    workers: int | None = None,
) -> list[RenderResult]:
    """Check the bundle, then render ``jobs`` to ``formats`` on ``workers`` threads.

    Inputs: a workspace (or explicit paths), the jobs (:func:`report_jobs`), formats, engine,
    worker count (default: the available cores). Output: one ``RenderResult`` per job, in job
    order; files are ``<out_dir>/<output_name>.<format>``.

    Raises:
        PtwError: the bundle is missing or fails the disclosure check; RenderError from a render.
    """
    paths = source if isinstance(source, ReportPaths) else ReportPaths.of(source)
    bundle_dir = paths.bundle_dir.resolve()
    check_bundle(read_bundle(bundle_dir), where=bundle_dir, threshold=paths.threshold,
                 key=paths.seal_key)  # fmt: skip
    count = max(1, min(workers or len(os.sched_getaffinity(0)), len(jobs)))

    def run(job: ReportJob) -> RenderResult:
        return render_report(
            paths.reports_dir / f"{job.template}.qmd",
            config={"bundle": str(bundle_dir), "region": job.region},
            out_dir=paths.out_dir,
            formats=formats,
            engine=engine,
            output_name=job.output_name,
        )

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, jobs))
