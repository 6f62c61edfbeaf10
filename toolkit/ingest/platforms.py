"""Survey platforms recognised by the shape of their exports, as data.

A platform adds its own columns to an export: a respondent identifier under its own name
(Qualtrics ``ResponseId``, SurveyMonkey ``Respondent ID``...) and metadata (times, names,
e-mail and IP addresses). :func:`prepare_platform_export` recognises the platform
(:data:`PLATFORMS`: the reader's layout, or headers that together only it writes), renames
its identifier column to the survey's identifier item, makes an identifier where the
platform has none (Google Forms: the timestamp and the source row), and drops the metadata
columns, so names, e-mail and IP addresses are never stored, not even in quarantine. What
it did is one ``info`` issue (rule ``platform_export``).

The identifier is left alone when the file already has a column for the identifier item or
a ``--mapping`` is given (the mapping decides); a column the mapping names is never dropped. Multi-selects joined with
commas (Qualtrics, Google Forms) are split by :mod:`toolkit.ingest.coding`; SurveyMonkey's
two header rows are merged by :mod:`toolkit.ingest.layouts`.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace

import pandas as pd

from toolkit.ingest.coding import empty_issues
from toolkit.ingest.mapping import normalise
from toolkit.ingest.raw_export import TEXT_DTYPE, RawExport
from toolkit.instruments.model import Instrument


@dataclass(frozen=True)
class Platform:
    """How one platform's export is recognised and what it adds.

    Attributes:
        name: the platform as people call it.
        signature: headers that together mark the platform (all present), compared
            case- and space-insensitively; empty when ``layout`` or ``first_column`` decides.
        identifier: the header of the platform's respondent identifier; ``None``: it has none.
        metadata: columns the platform adds that are not answers (never stored).
        layout: the reader layout that marks it (``"qualtrics"``, ``"surveymonkey"``).
        first_column: the header of the first column that marks it (Google Forms).
    """

    name: str
    signature: tuple[str, ...]
    identifier: str | None
    metadata: tuple[str, ...]
    layout: str | None = None
    first_column: str | None = None


PLATFORMS: tuple[Platform, ...] = (
    Platform("Qualtrics", ("ResponseId",), "ResponseId", (
        "StartDate", "EndDate", "Status", "IPAddress", "Progress", "Duration (in seconds)",
        "Finished", "RecordedDate", "RecipientLastName", "RecipientFirstName", "RecipientEmail",
        "ExternalReference", "LocationLatitude", "LocationLongitude", "DistributionChannel",
        "UserLanguage", "Q_RecaptchaScore", "Q_BallotBoxStuffing"), layout="qualtrics"),
    Platform("SurveyMonkey", ("Respondent ID", "Collector ID"), "Respondent ID", (
        "Collector ID", "Start Date", "End Date", "IP Address", "Email Address", "First Name",
        "Last Name", "Custom Data 1"), layout="surveymonkey"),
    Platform("Microsoft Forms", ("ID", "Start time", "Completion time"), "ID", (
        "Start time", "Completion time", "Email", "Name", "Last modified time")),
    Platform("Smart Survey", ("UserID", "UserNo"), "UserID", (
        "UserNo", "Name", "Email", "IP Address", "Unique ID", "Started", "Ended")),
    Platform("JISC Online Surveys", ("Response ID", "Started", "Completed"), "Response ID", (
        "Started", "Completed", "Timestamp", "Email", "Email Address", "Name")),
    Platform("Google Forms", (), None, ("Timestamp", "Email Address", "Email", "Score"),
             first_column="Timestamp"),
)  # fmt: skip


def recognise_platform(columns: list[str], layout: str) -> Platform | None:
    """The platform whose export has this layout or these headers, else ``None``."""
    headers = {normalise(c) for c in columns}
    for platform in PLATFORMS:
        if platform.layout is not None and platform.layout == layout:
            return platform
        if platform.signature and all(normalise(s) in headers for s in platform.signature):
            return platform
        if (
            platform.first_column
            and columns
            and normalise(columns[0]) == normalise(platform.first_column)
        ):
            return platform
    return None


def made_identifiers(raw: RawExport, timestamps: str) -> pd.Series:
    """Identifiers for a platform that writes none: ``<timestamp> row <source row>``.

    Rows without a timestamp get none (and are reported as missing their identifier).
    """
    stamps = raw.frame[timestamps].astype(TEXT_DTYPE).str.strip()
    made = stamps + " row " + pd.Series(raw.source_rows, index=raw.frame.index).astype(str)
    return made.where(stamps.notna() & (stamps != "")).astype(TEXT_DTYPE)


def prepare_platform_export(
    raw: RawExport, instrument: Instrument, identifier: str, mapped: Collection[str] = ()
) -> tuple[RawExport, pd.DataFrame]:
    """Rename or make the identifier and drop the platform's metadata (module docstring).

    Args:
        raw: the file as read.
        instrument: the survey; a column that is one of its items is never dropped.
        identifier: the survey's identifier item (``respondent_id``).
        mapped: source headers named by ``--mapping`` (never dropped; the mapping then
            decides the identifier).

    Returns:
        The export without the metadata columns, and the ``info`` issue saying what was done
        (no rows when no platform was recognised).
    """
    columns = list(raw.frame.columns)
    platform = recognise_platform(columns, raw.layout)
    if platform is None:
        return raw, empty_issues()
    items = {normalise(i.name) for i in instrument.items} | {
        normalise(i.label) for i in instrument.items
    }
    keep = {normalise(m) for m in mapped} | items
    has_identifier = bool(mapped) or any(_is_identifier(c, instrument, identifier) for c in columns)
    frame = raw.frame
    done: list[str] = []
    if not has_identifier:
        source = next((c for c in columns if _names(c, platform.identifier)), None)
        if source is not None:
            frame = frame.rename(columns={source: identifier})
            done.append(f"its {source!r} column is the respondent identifier")
        elif platform.first_column and columns and _names(columns[0], platform.first_column):
            frame = frame.assign(**{identifier: made_identifiers(raw, columns[0])})
            done.append(
                f"it writes no respondent identifier, so each row's is made from its "
                f"{columns[0]!r} and its source row (a re-sorted file would not match an "
                "earlier ingest of it)"
            )
    dropped = [
        c for c in frame.columns
        if normalise(c) not in keep and any(_names(c, m) for m in platform.metadata)
    ]  # fmt: skip
    if dropped:
        frame = frame.drop(columns=dropped)
        done.append(f"its {len(dropped)} metadata column(s) are not stored: {', '.join(dropped)}")
    note = pd.DataFrame({"source_row": [raw.header_row], "respondent": [None],
                         "column": [identifier], "value": [platform.name],
                         "rule": ["platform_export"], "severity": ["info"],
                         "message": [f"recognised as a {platform.name} export"
                                     + (": " + "; ".join(done) if done else "")],
                         "position": [-1]})  # fmt: skip
    return replace(raw, frame=frame), note


def _names(header: str, wanted: str | None) -> bool:
    """Whether ``header`` is ``wanted``, compared case- and space-insensitively."""
    return wanted is not None and normalise(header) == normalise(wanted)


def _is_identifier(header: str, instrument: Instrument, identifier: str) -> bool:
    """Whether ``header`` is the identifier item's name or label."""
    item = instrument.item_map[identifier]
    return _names(header, item.name) or _names(header, item.label)
