"""Source headers -> instrument items: matching rules, ``--mapping`` files, suggested mappings.

A header matches an item when, compared case- and space-insensitively, it is

1. a key of the explicit mapping (``--mapping FILE``: source header -> item name, or
   ``source header -> item name: option code`` for one option of a spread multi-select);
2. the item's name or its full question text (label), as Microsoft Forms and SmartSurvey
   export it, also after a leading question number (``3. question``, ``Q3: question``,
   ``5.1 question``, as JISC Online Surveys numbers them); for a Qualtrics export (:attr:`RawExport.layout` ``"qualtrics"``) the question
   text of the second header row is tried as well;
3. one option of a ``select_multiple`` item spread over one column per option: the item name
   followed by ``_``, ``.``, ``:`` or `` - `` and the option's code or label
   (``leave_reasons_pay``), or a Qualtrics column (``Q5_1``) whose question text is the item
   label followed by `` - `` and the option label (Qualtrics also writes
   ``label - Selected Choice - option``).

A header matching nothing is reported; when ``difflib`` finds an item name or label at
least :data:`NEAR_MISS_CUTOFF` similar, the report names it ("did you mean").
"""

from __future__ import annotations

import csv
import difflib
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from toolkit.errors import IngestError
from toolkit.instruments.model import Instrument, Item, normalise_answer

#: Similarity (difflib ratio) at which an unmatched header is reported as a near miss.
NEAR_MISS_CUTOFF = 0.8
#: Similarity at which ``--suggest-mapping`` proposes an item for a header.
SUGGEST_CUTOFF = 0.6
_SPREAD_SEPARATORS = (" - selected choice - ", " - ", "_", ".", ":", " ")
_QUESTION_NUMBER = re.compile(r"^\s*(?:q\s*)?\d+(?:\.\d+)*(?:\.[a-z])?[.:)]?\s+", re.IGNORECASE)
normalise = normalise_answer


@dataclass(frozen=True)
class ColumnMatch:
    """How the columns of a file map onto an instrument.

    Attributes:
        items: source column -> item name, for one-column items.
        spread: item name -> {source column: option code}, for multi-selects spread over
            one column per option.
        unknown: source columns that match no item (ignored; reported as warnings).
        near_misses: unknown column -> the item it most resembles.
        missing_required: required items with no column.
    """

    items: dict[str, str]
    spread: dict[str, dict[str, str]] = field(default_factory=dict)
    unknown: tuple[str, ...] = ()
    near_misses: dict[str, str] = field(default_factory=dict)
    missing_required: tuple[str, ...] = ()

    def item_of(self, column: str) -> str | None:
        """The item a source column feeds, or ``None``."""
        if column in self.items:
            return self.items[column]
        return next((i for i, cols in self.spread.items() if column in cols), None)


def _item_keys(instrument: Instrument) -> dict[str, str]:
    """Normalised item name and label -> item name (names win over labels)."""
    keys: dict[str, str] = {}
    for item in instrument.items:
        keys.setdefault(normalise(item.label), item.name)
    for item in instrument.items:
        keys[normalise(item.name)] = item.name
    return keys


def _option_code(instrument: Instrument, item: Item, text: str) -> str | None:
    """The option of ``item`` named by ``text`` (code, label or synonym), else ``None``."""
    key = normalise(text.replace("_", " "))
    for choice in instrument.choices(item):
        if key in {normalise(t.replace("_", " ")) for t in choice.accepted()}:
            return choice.code
    return None


def _spread_option(instrument: Instrument, multi: list[Item], text: str) -> tuple[str, str] | None:
    """``(item, option code)`` when ``text`` is a multi-select item name/label + an option."""
    key = normalise(text)
    for item in multi:
        for stem in (normalise(item.name), normalise(item.label)):
            for separator in _SPREAD_SEPARATORS:
                if key.startswith(stem + separator):
                    code = _option_code(instrument, item, key[len(stem) + len(separator) :])
                    if code is not None:
                        return item.name, code
    return None


def _explicit_target(instrument: Instrument, target: str, column: str) -> tuple[str, str | None]:
    """Check a mapping entry ``item`` or ``item: option``; returns ``(item, option or None)``."""
    name, _, option = (part.strip() for part in target.partition(":"))
    item = instrument.item_map.get(name)
    if item is None:
        raise IngestError(
            code="ingest.mapping_unknown_item",
            message=f"the mapping sends column {column!r} to an item {instrument.name} does not have",
            column=column,
            value=target,
            expected="one of " + ", ".join(instrument.item_map),
            fix="correct the item name in the mapping file (ptw survey show lists the items)",
        )
    if not option:
        return name, None
    code = _option_code(instrument, item, option)
    if item.base_type != "select_multiple" or code is None:
        raise IngestError(
            code="ingest.mapping_unknown_option",
            message=f"the mapping sends column {column!r} to an option {name} does not have",
            column=column,
            value=target,
            expected="a select_multiple item and one of its options as 'item: option'",
            fix="correct the option in the mapping file",
        )
    return name, code


def match_columns(
    columns: list[str],
    instrument: Instrument,
    mapping: Mapping[str, str] | None = None,
    question_text: Mapping[str, str] | None = None,
) -> ColumnMatch:
    """Match source headers to items by the rules in the module docstring.

    Args:
        columns: the file's headers.
        instrument: the survey or record definition being ingested.
        mapping: explicit ``source header -> item`` (or ``item: option``), from ``--mapping``.
        question_text: column -> question wording (Qualtrics second header row, SPSS labels).

    Returns:
        The :class:`ColumnMatch`; a second column for an item already matched is unknown.
    """
    keys = _item_keys(instrument)
    multi = [i for i in instrument.items if i.base_type == "select_multiple"]
    explicit = {normalise(k): v for k, v in (mapping or {}).items()}
    items: dict[str, str] = {}
    spread: dict[str, dict[str, str]] = {}
    unknown: list[str] = []
    for column in columns:
        texts = [
            column,
            *([question_text[column]] if question_text and column in question_text else []),
        ]
        unnumbered = _QUESTION_NUMBER.sub("", column)
        texts += [unnumbered] if unnumbered and unnumbered != column else []
        target: tuple[str, str | None] | None = None
        if normalise(column) in explicit:
            target = _explicit_target(instrument, explicit[normalise(column)], column)
        for text in texts:
            if target is None and normalise(text) in keys:
                target = (keys[normalise(text)], None)
        for text in texts:
            target = target or _spread_option(instrument, multi, text)
        if (
            target is None
            or target[0] in items.values()
            or (target[1] is None and target[0] in spread)
        ):
            unknown.append(column)
        elif target[1] is None:
            items[column] = target[0]
        else:
            spread.setdefault(target[0], {})[column] = target[1]
    present = set(items.values()) | set(spread)
    return ColumnMatch(
        items=items,
        spread=spread,
        unknown=tuple(unknown),
        near_misses=near_misses(unknown, instrument, question_text, present),
        missing_required=tuple(
            i.name for i in instrument.items if i.required and i.name not in present
        ),
    )


def closest_item(
    text: str, instrument: Instrument, *, cutoff: float, exclude: set[str] | None = None
) -> str | None:
    """The item whose name or label is most similar to ``text`` (difflib ratio >= cutoff)."""
    keys = {k: v for k, v in _item_keys(instrument).items() if v not in (exclude or set())}
    found = difflib.get_close_matches(normalise(text), list(keys), n=1, cutoff=cutoff)
    return keys[found[0]] if found else None


def near_misses(
    unknown: list[str],
    instrument: Instrument,
    question_text: Mapping[str, str] | None,
    present: set[str],
) -> dict[str, str]:
    """Unknown column -> the unmatched item it resembles (header or question text)."""
    found: dict[str, str] = {}
    for column in unknown:
        for text in (column, (question_text or {}).get(column, "")):
            item = text and closest_item(text, instrument, cutoff=NEAR_MISS_CUTOFF, exclude=present)
            if item:
                found[column] = item
                break
    return found


def read_mapping(path: Path) -> dict[str, str]:
    """A ``--mapping`` file: YAML (``source header: item``) or CSV (columns ``source,item``).

    Raises:
        IngestError: ``ingest.bad_mapping`` when the file is missing or not of that shape.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (FileNotFoundError, IsADirectoryError, UnicodeDecodeError) as exc:
        raise _bad_mapping(
            path, f"cannot read the mapping file ({exc.__class__.__name__})"
        ) from exc
    if path.suffix.lower() == ".csv":
        rows = list(csv.reader(io.StringIO(text)))
        body = (
            rows[1:]
            if rows and [c.strip().lower() for c in rows[0][:2]] == ["source", "item"]
            else rows
        )
        if any(len(row) < 2 for row in body if any(c.strip() for c in row)):
            raise _bad_mapping(path, "every CSV row needs two cells: source header, item")
        return {
            row[0].strip(): row[1].strip()
            for row in body
            if row and row[0].strip() and row[1].strip()
        }
    try:
        loaded = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise _bad_mapping(path, f"not valid YAML: {exc}") from exc
    if not isinstance(loaded, dict):
        raise _bad_mapping(path, "the YAML must be a list of 'source header: item' lines")
    return {str(k).strip(): str(v).strip() for k, v in loaded.items() if v not in (None, "")}


def _bad_mapping(path: Path, message: str) -> IngestError:
    return IngestError(
        code="ingest.bad_mapping",
        message=message,
        file=str(path),
        expected="YAML 'source header: item' lines, or a CSV with columns source,item",
        fix="draft one with `ptw ingest FILE --survey S --suggest-mapping --mapping-out MAPPING.yaml`",
    )


def suggest_mapping(
    columns: list[str], instrument: Instrument, question_text: Mapping[str, str] | None = None
) -> str:
    """A draft mapping as YAML text: each header with the item it matches or resembles.

    Exact matches (the rules of :func:`match_columns`) are written as they are; fuzzy ones
    (difflib ratio >= :data:`SUGGEST_CUTOFF`) with a ``# check:`` comment; headers with no
    candidate as comments to fill in. Items still unmatched are listed at the end.
    """
    match = match_columns(columns, instrument, None, question_text)
    lines = [
        f"# Mapping of source headers to {instrument.name} items (version {instrument.version}).",
        "# Edit, then pass with --mapping. 'item: OPTION' maps a column to one option of a multi-select.",
    ]
    used = set(match.items.values()) | set(match.spread)
    for column in columns:
        key = yaml.safe_dump(column, default_style='"', width=10_000).strip()
        option = next(
            (c for cols in match.spread.values() for k, c in cols.items() if k == column), None
        )
        item = match.item_of(column)
        if item is not None:
            lines.append(f'{key}: "{item}: {option}"' if option else f"{key}: {item}")
            continue
        guess = None
        for text in (column, (question_text or {}).get(column, "")):
            guess = guess or (
                text and closest_item(text, instrument, cutoff=SUGGEST_CUTOFF, exclude=used)
            )
        if guess:
            used.add(guess)
            lines.append(
                f"{key}: {guess}  # check: fuzzy match to {instrument.item_map[guess].label!r}"
            )
        else:
            lines.append(f"# {key}:   # no item found; write an item name or leave commented out")
    left = [i.name for i in instrument.items if i.name not in used]
    if left:
        lines.append("# Items with no column: " + ", ".join(left))
    return "\n".join(lines) + "\n"
