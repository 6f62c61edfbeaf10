"""Which reports to render, and rendering them in parallel after the release gate.

Steps of :func:`render_all`:

1. the release gate (``toolkit.bundle.check_release``): every table file matches its digest and
   the bundle's audit seal verifies with the workspace's key at the workspace's threshold or
   higher, so the disclosure audit that `ptw analyse` ran on exactly these files stands and is
   not run again; a bundle that fails is never rendered;
2. render each job (template x region) with ``toolkit.report.render.render_report`` on a pool of
   ``workers`` threads (each render runs its own kernel and pandoc processes in its own
   temporary copy of the templates folder, so renders never share files); the cores left over
   draw figures in parallel inside each kernel, and every render shares the figure cache
   ``<out_dir>/.figure-cache`` (``toolkit.report.figures``: a chart already drawn from the same
   data is copied, not drawn again);
3. return the results in job order: the same jobs give the same files whatever the timing.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from toolkit.bundle import check_release
from toolkit.config import REGION_NAMES, REPORTS, Workspace
from toolkit.errors import PtwError
from toolkit.report.figure_cache import prune_cache
from toolkit.report.render import Engine, RenderResult, render_report
from toolkit.report.sentences import REGION_NAMES as PLACE_NAMES

#: The figure cache folder inside the reports' output folder.
FIGURE_CACHE = ".figure-cache"
NATIONAL = "England"
REGIONS = tuple(REGION_NAMES)


@dataclass(frozen=True)
class ReportJob:
    """One report to render: the template stem, the region and the output file stem."""

    template: str
    region: str
    output_name: str


@dataclass(frozen=True)
class ReportPaths:
    """Where the bundle, templates and instruments are read and the reports written, and the
    publication details printed on every report (``ptw.toml`` [publication]); the workspace's
    threshold and key, against which the bundle's audit seal is verified."""

    bundle_dir: Path
    reports_dir: Path
    out_dir: Path
    surveys_dir: Path | None = None
    publication: Mapping[str, object] = field(default_factory=dict)
    threshold: int = 10
    seal_key: bytes | None = None
    """The workspace secret; without it no bundle passes the release gate."""

    @classmethod
    def of(cls, space: Workspace) -> ReportPaths:
        """The paths, publication details, threshold and key of a workspace."""
        return cls(space.bundle_dir, space.reports_dir, space.report_dir, space.surveys_dir,
                   dict(space.publication), space.threshold, space.secret())  # fmt: skip


def region_code(region: str) -> str:
    """The NHS England region code for ``region``, given as a code or a name (any case).

    ``"LON"``, ``"lon"``, ``"London"`` and ``"london"`` all give ``"LON"``; spaces and "and"
    may be spelled loosely (``"north east & yorkshire"``).

    Raises:
        PtwError: ``report.region`` when ``region`` names no region.
    """
    wanted = _region_key(region)
    for code, name in REGION_NAMES.items():
        if wanted in (_region_key(code), _region_key(name)):
            return code
    raise PtwError(code="report.region", message="unknown region", value=region,
                   expected=", ".join(f"{code} ({name})" for code, name in REGION_NAMES.items()),
                   fix="pass --region with a region code or name, e.g. --region LON or "
                   '--region "London"')  # fmt: skip


def _region_key(text: str) -> str:
    return re.sub(r"[^a-z]+", "", text.lower().replace("&", "and"))


def report_jobs(
    name: str | None, *, region: str | None = None, all_regions: bool = False
) -> list[ReportJob]:
    """The jobs for ``ptw report [NAME] [--region R | --all-regions]``.

    ``all_regions``: national, the 7 regional reports and trends (plus methods when ``name``
    is ``methods``). Otherwise one job. ``region`` (a code or a name, see :func:`region_code`)
    with no ``name`` means the regional report; ``regional`` needs a region; national,
    trends and methods are England-wide, so a region with them is refused rather than ignored.
    No name and no region: the national report.

    Raises:
        PtwError: unknown report name or region, ``regional`` without a region, or a region
        with a report that has none.
    """
    if all_regions:
        jobs = [_job("national", NATIONAL)] + [_job("regional", code) for code in REGIONS]
        jobs.append(_job("trends", NATIONAL))
        return jobs + ([_job("methods", NATIONAL)] if name == "methods" else [])
    if name is None:
        name = "regional" if region else "national"
    if name not in REPORTS:
        raise PtwError(code="report.unknown", message="unknown report", value=name,
                       expected=", ".join(REPORTS), fix="name one of the reports, or pass --all-regions")  # fmt: skip
    if name == "regional":
        if not region:
            raise PtwError(code="report.region", message="a regional report needs a region",
                           expected=", ".join(REGIONS),
                           fix="pass --region with a region code or name, or --all-regions")  # fmt: skip
        return [_job(name, region_code(region))]
    if region:
        raise PtwError(code="report.region", message=f"the {name} report covers England, not a "
                       "region", value=region, expected="no --region",
                       fix=f"drop --region, or ask for the regional report: ptw report regional "
                       f'--region "{region}"')  # fmt: skip
    return [_job(name, NATIONAL)]


def _job(template: str, region: str) -> ReportJob:
    return ReportJob(template, region, template if template != "regional" else f"regional-{region}")


def render_all(
    source: Workspace | ReportPaths,
    *,
    jobs: Sequence[ReportJob],
    formats: Sequence[str] = ("html",),
    engine: Engine = "auto",
    workers: int | None = None,
) -> list[RenderResult]:
    """Pass the release gate, then render ``jobs`` to ``formats`` on ``workers`` threads.

    Inputs: a workspace (or explicit paths), the jobs (:func:`report_jobs`), formats, engine,
    worker count (default: the available cores). Output: one ``RenderResult`` per job, in job
    order; files are ``<out_dir>/<output_name>.<format>``.

    Raises:
        PtwError: the bundle is missing, broken, changed since `ptw analyse`, not sealed with the
            workspace's key, or sealed below its threshold; RenderError from a render.
    """
    paths = source if isinstance(source, ReportPaths) else ReportPaths.of(source)
    bundle_dir = paths.bundle_dir.resolve()
    check_release(bundle_dir, key=paths.seal_key, threshold=paths.threshold)
    cores = len(os.sched_getaffinity(0))
    count = max(1, min(workers or cores, len(jobs)))
    figure_cache = (paths.out_dir / FIGURE_CACHE).resolve()
    prune_cache(figure_cache)

    def run(job: ReportJob) -> RenderResult:
        config = {"bundle": str(bundle_dir), "region": job.region,
                  "publication": dict(paths.publication), "figure_cache": str(figure_cache),
                  "figure_workers": max(1, cores // count)}  # fmt: skip
        if paths.surveys_dir:
            config["surveys"] = str(paths.surveys_dir.resolve())
        return render_report(
            paths.reports_dir / f"{job.template}.qmd",
            config=config,
            out_dir=paths.out_dir,
            formats=formats,
            engine=engine,
            output_name=job.output_name,
            placeholders={"place": PLACE_NAMES.get(job.region, job.region)},
        )

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, jobs))
