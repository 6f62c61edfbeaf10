"""The instrument as tidy tables: the data behind every export.

Each function takes an :class:`~toolkit.instruments.model.Instrument` and returns a DataFrame
whose columns never change; writers in this package only lay these tables out.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from toolkit.instruments.model import Instrument, Item
from toolkit.instruments.relevance import (
    Compare,
    Expression,
    Literal,
    Not,
    Ref,
    Selected,
    parse_relevant,
)

ITEM_COLUMNS = (
    "item",
    "label",
    "type",
    "choice_list",
    "options",
    "required",
    "relevant",
    "asked",
    "favourable",
    "outcome",
    "scales",
    "reversed_in",
    "nss_item",
    "standards",
    "programme",
    "equality_role",
    "source",
)
CHOICE_COLUMNS = ("choice_list", "order", "code", "label", "synonyms", "missing", "groups")
SCALE_COLUMNS = (
    "scale",
    "label",
    "items",
    "reversed",
    "min_answered",
    "scoring",
    "nss_theme",
    "standards",
    "source",
)
DIMENSION_COLUMNS = ("dimension", "label", "source", "levels", "reference")
MULTIPLE_JOIN = ";"


def output_path(instrument: Instrument, out_dir: Path, kind: str, suffix: str) -> Path:
    """``out_dir/NAME-VERSION-KIND.SUFFIX``, e.g. ``retention-2025.1-codebook.html``."""
    return out_dir / f"{instrument.name}-{instrument.version}-{kind}.{suffix}"


def _joined(values: tuple[str, ...] | list[str]) -> str:
    return ", ".join(values)


def template_items(instrument: Instrument) -> list[Item]:
    """Items a data template or questionnaire shows: asked items, identifier first."""
    asked = [item for item in instrument.items if item.ask]
    return [i for i in asked if i.identifier] + [i for i in asked if not i.identifier]


def _options(instrument: Instrument, item: Item) -> str:
    return "; ".join(f"{c.code} = {c.label}" for c in instrument.choices(item))


def _outcome(item: Item) -> str:
    if item.outcome is None:
        return ""
    return f"{item.outcome.label} ({item.outcome.direction}): {_joined(item.outcome.codes)}"


def items_table(instrument: Instrument) -> pd.DataFrame:
    """One row per item: the data dictionary (columns :data:`ITEM_COLUMNS`)."""
    rows = [
        (
            item.name,
            item.label,
            item.base_type,
            item.list_name or "",
            _options(instrument, item),
            item.required,
            item.relevant or "",
            item.ask,
            item.favourable or "",
            _outcome(item),
            _joined(instrument.scales_of(item.name)),
            _joined([s.name for s in instrument.scales if item.name in s.reversed]),
            item.nss_item or "",
            _joined(item.standards),
            _joined(item.programme),
            item.equality_role or "",
            item.source or "",
        )
        for item in instrument.items
    ]
    return pd.DataFrame(rows, columns=list(ITEM_COLUMNS))


def choices_table(instrument: Instrument) -> pd.DataFrame:
    """One row per option of every choice list (columns :data:`CHOICE_COLUMNS`)."""
    rows = [
        (
            list_name,
            order,
            choice.code,
            choice.label,
            _joined(choice.synonyms),
            choice.missing,
            _joined([f"{level}: {group}" for level, group in choice.groups.items()]),
        )
        for list_name, choices in instrument.choice_lists.items()
        for order, choice in enumerate(choices, start=1)
    ]
    return pd.DataFrame(rows, columns=list(CHOICE_COLUMNS))


def scales_table(instrument: Instrument) -> pd.DataFrame:
    """One row per scale (columns :data:`SCALE_COLUMNS`)."""
    rows = [
        (
            scale.name,
            scale.label,
            _joined(scale.items),
            _joined(scale.reversed),
            scale.min_answered,
            scale.scoring,
            scale.nss_theme or "",
            _joined(scale.standards),
            scale.source or "",
        )
        for scale in instrument.scales
    ]
    return pd.DataFrame(rows, columns=list(SCALE_COLUMNS))


def dimensions_table(instrument: Instrument) -> pd.DataFrame:
    """One row per equality dimension and level (columns :data:`DIMENSION_COLUMNS`)."""
    rows = [
        (
            dimension.name,
            dimension.label,
            dimension.item or f"{dimension.derived}({_joined(dimension.items)})",
            level,
            dimension.reference[level],
        )
        for dimension in instrument.dimensions
        for level in dimension.levels
    ]
    return pd.DataFrame(rows, columns=list(DIMENSION_COLUMNS))


def _operand_words(
    instrument: Instrument, side: Ref | Literal, other: Ref | Literal, numbers: dict[str, str]
) -> str:
    """An item as its question number, a code as its option label (in quotes)."""
    if isinstance(side, Ref):
        return numbers.get(side.name, side.name)
    known = isinstance(other, Ref) and other.name in instrument.item_map
    labels = {c.code: c.label for c in instrument.choices(other.name)} if known else {}
    return f'"{labels.get(side.value, side.value)}"'


def _words(instrument: Instrument, node: Expression, numbers: dict[str, str], nested: bool) -> str:
    if isinstance(node, Compare):
        verb = "is" if node.operator == "=" else "is not"
        left = _operand_words(instrument, node.left, node.right, numbers)
        return f"{left} {verb} {_operand_words(instrument, node.right, node.left, numbers)}"
    if isinstance(node, Selected):
        chosen = _operand_words(instrument, node.value, node.ref, numbers)
        return f"{numbers.get(node.ref.name, node.ref.name)} includes {chosen}"
    if isinstance(node, Not):
        return f"not ({_words(instrument, node.operand, numbers, False)})"
    text = f" {node.operator} ".join(_words(instrument, p, numbers, True) for p in node.operands)
    return f"({text})" if nested else text


def describe_relevant(instrument: Instrument, expression: str, numbers: dict[str, str]) -> str:
    """A ``relevant`` expression in plain words, e.g. ``Q5 is "Yes" and Q6 is not "No"``.

    Args:
        instrument: gives option labels for codes.
        expression: the item's ``relevant``.
        numbers: item name -> question number as shown (e.g. ``"Q5"``); unknown names
            are shown as they are.
    """
    return _words(instrument, parse_relevant(expression), numbers, False)
