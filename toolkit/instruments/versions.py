"""Instrument versions: find them, compare two of them, and bring old answers forward.

Items keep a stable ``name`` across cycles. A new version declares, under ``previous``,
how its items map onto the version before (renamed, recoded options, reworded, new,
dropped). :func:`diff_instruments` compares two versions, checks every change is declared
and says which trends stay comparable:

- unchanged items, renamed items and items whose every previous code is mapped onto a
  current code (``recoded``) stay comparable;
- reworded questions, changed item types, options changed without a mapping, new and
  dropped items break the trend.

Versions live beside the current file as ``surveys/versions/NAME-VERSION.yaml``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from toolkit.errors import InstrumentError
from toolkit.instruments.model import Instrument, Item, Previous, instrument_path, load_instrument

DIFF_COLUMNS = ("kind", "name", "previous_name", "change", "declared", "comparable", "detail")


def instrument_versions(surveys_dir: Path, name: str) -> list[Instrument]:
    """Every version of instrument ``name``, oldest first (by ``applies_from``).

    Args:
        surveys_dir: the folder holding ``NAME.yaml`` and ``versions/NAME-*.yaml``.
        name: the instrument name, e.g. ``retention``.
    """
    paths = [
        instrument_path(surveys_dir, name),
        *sorted((surveys_dir / "versions").glob(f"{name}-*.yaml")),
    ]
    versions = [load_instrument(path) for path in paths]
    return sorted(versions, key=lambda inst: (inst.applies_from, inst.version))


def instrument_for_cycle(surveys_dir: Path, name: str, cycle: int) -> Instrument:
    """The version of ``name`` that applies to ``cycle`` (latest ``applies_from`` <= cycle).

    Raises:
        InstrumentError: no version applies that early.
    """
    applicable = [v for v in instrument_versions(surveys_dir, name) if v.applies_from <= cycle]
    if not applicable:
        raise InstrumentError(
            code="instrument.no_version_for_cycle",
            message=f"no version of {name!r} applies to cycle {cycle}",
            file=str(surveys_dir),
            fix="set applies_from of the earliest version to that cycle or earlier",
        )
    return applicable[-1]


def _row(
    kind: str,
    name: str,
    previous_name: str | None,
    change: str,
    declared: bool,
    comparable: bool,
    detail: str,
) -> dict[str, object]:
    return dict(
        zip(
            DIFF_COLUMNS,
            (kind, name, previous_name, change, declared, comparable, detail),
            strict=True,
        )
    )


def _option_rows(
    old: Instrument, new: Instrument, item: Item, was: Item, mapping: Previous
) -> Iterator[dict]:
    """Rows for changes to the options of one item present in both versions."""
    old_codes = [c.code for c in old.choices(was)]
    new_codes = [c.code for c in new.choices(item)]
    recode = mapping.recoded.get(item.name)
    if recode is not None:
        unmapped = [code for code in old_codes if code not in recode]
        detail = f"previous codes mapped: {recode}"
        if unmapped:
            detail = f"previous codes {unmapped} have no current code"
        yield _row("item", item.name, was.name, "recoded", True, not unmapped, detail)
    elif old_codes != new_codes:
        yield _row(
            "item",
            item.name,
            was.name,
            "options_changed",
            False,
            False,
            f"codes {old_codes} became {new_codes}; declare previous.recoded",
        )
    else:
        old_labels = [c.label for c in old.choices(was)]
        new_labels = [c.label for c in new.choices(item)]
        if old_labels != new_labels:
            yield _row(
                "item",
                item.name,
                was.name,
                "options_relabelled",
                item.name in mapping.reworded,
                True,
                "same codes, new option wording",
            )


def _item_rows(old: Instrument, new: Instrument, item: Item, mapping: Previous) -> Iterator[dict]:
    """Rows for one item of the new version."""
    previous_name = mapping.renamed.get(item.name, item.name)
    was = old.item_map.get(previous_name)
    if was is None:
        yield _row(
            "item",
            item.name,
            None,
            "new",
            item.name in mapping.new,
            False,
            "not asked in the previous version",
        )
        return
    rows: list[dict] = []
    if previous_name != item.name:
        rows.append(
            _row("item", item.name, previous_name, "renamed", True, True, f"was {previous_name!r}")
        )
    if was.base_type != item.base_type:
        rows.append(
            _row(
                "item",
                item.name,
                previous_name,
                "type_changed",
                False,
                False,
                f"{was.base_type} became {item.base_type}",
            )
        )
    if was.label != item.label:
        rows.append(
            _row(
                "item",
                item.name,
                previous_name,
                "reworded",
                item.name in mapping.reworded,
                False,
                f"was: {was.label}",
            )
        )
    rows.extend(_option_rows(old, new, item, was, mapping))
    yield from rows or [_row("item", item.name, previous_name, "unchanged", True, True, "")]


def _scale_rows(
    old: Instrument, new: Instrument, mapping: Previous, broken: set[str]
) -> Iterator[dict]:
    old_scales = {scale.name: scale for scale in old.scales}
    for scale in new.scales:
        before = old_scales.get(scale.name)
        if before is None:
            yield _row(
                "scale", scale.name, None, "new", True, False, "scale not in the previous version"
            )
            continue
        items_then = {mapping.renamed.get(name, name) for name in scale.items}
        same_items = items_then == set(before.items) and scale.reversed == before.reversed
        unstable = sorted(set(scale.items) & broken)
        comparable = same_items and not unstable
        detail = (
            ""
            if comparable
            else (
                f"items changed from {list(before.items)}"
                if not same_items
                else f"items {unstable} are not comparable"
            )
        )
        yield _row(
            "scale",
            scale.name,
            before.name,
            "unchanged" if comparable else "items_changed",
            True,
            comparable,
            detail,
        )


def diff_instruments(old: Instrument, new: Instrument) -> pd.DataFrame:
    """Compare two versions of an instrument.

    Args:
        old: the previous version.
        new: the version whose ``previous`` block maps its items onto ``old``.

    Returns:
        One row per change (or ``unchanged``) per item and scale, columns
        :data:`DIFF_COLUMNS`: ``kind`` (item | scale), ``name`` (in ``new``),
        ``previous_name`` (in ``old``), ``change`` (unchanged, renamed, reworded, recoded,
        options_changed, options_relabelled, type_changed, new, dropped, items_changed),
        ``declared`` (the ``previous`` block states the change), ``comparable`` (the trend
        across the two versions compares like with like) and ``detail``.

    Raises:
        InstrumentError: ``new`` declares a different previous version, or the two are
            different instruments.
    """
    if old.name != new.name:
        raise InstrumentError(
            code="instrument.diff_different",
            message=(
                f"cannot compare {old.name!r} with {new.name!r}: they are different instruments"
            ),
            fix="compare two versions of the same instrument",
        )
    mapping = new.previous or Previous(version=old.version)
    if mapping.version != old.version:
        raise InstrumentError(
            code="instrument.diff_wrong_previous",
            message=f"version {new.version} maps onto {mapping.version}, not {old.version}",
            fix="compare a version with the one its 'previous' block names",
        )
    rows = [row for item in new.items for row in _item_rows(old, new, item, mapping)]
    carried = {mapping.renamed.get(item.name, item.name) for item in new.items}
    rows += [
        _row(
            "item",
            None,
            item.name,
            "dropped",
            item.name in mapping.dropped,
            False,
            "no longer asked",
        )
        for item in old.items
        if item.name not in carried
    ]
    broken = {str(row["name"]) for row in rows if not row["comparable"] and row["name"]}
    rows += list(_scale_rows(old, new, mapping, broken))
    return pd.DataFrame(rows, columns=list(DIFF_COLUMNS))


def comparable_items(diff: pd.DataFrame) -> pd.DataFrame:
    """One row per item or scale of the new version: whether its trend stays comparable.

    Returns:
        Columns ``kind, name, previous_name, comparable, changes`` (changes joined by ", ").
    """
    present = diff[diff["name"].notna()]
    grouped = present.groupby(["kind", "name"], sort=False, dropna=False)
    return grouped.agg(
        previous_name=("previous_name", "first"),
        comparable=("comparable", "all"),
        changes=("change", lambda changes: ", ".join(changes)),
    ).reset_index()


def bring_forward(answers: pd.DataFrame, new: Instrument) -> pd.DataFrame:
    """Answers coded under the previous version, renamed and recoded to ``new``.

    Args:
        answers: one column per item of the previous version, option codes as values.
        new: the version to harmonise to (its ``previous`` block says how).

    Returns:
        The frame with renamed columns, recoded values and dropped items removed; items
        new in ``new`` are absent (not asked then).
    """
    mapping = new.previous or Previous(version="")
    renames = {old: current for current, old in mapping.renamed.items()}
    harmonised = answers.drop(columns=[c for c in mapping.dropped if c in answers]).rename(
        columns=renames
    )
    for item, recode in mapping.recoded.items():
        if item in harmonised:
            harmonised[item] = harmonised[item].map(lambda code, r=recode: r.get(code, code))
    return harmonised
