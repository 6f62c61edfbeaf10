"""Survey instruments: the typed model and the YAML loader.

An instrument is data (DESIGN.md decision 1): a YAML file shaped like XLSForm with items,
choice lists, scales and the equality dimensions its demographic items feed. Loading
validates everything and reports each problem as ``file:line``, the rule broken and a fix.

Item types: ``select_one LIST``, ``select_multiple LIST``, ``likert LIST``, ``integer``,
``decimal``, ``text``, ``date``. A ``likert`` list has ordered numeric codes, low to high.
"""

from __future__ import annotations

import re
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from toolkit.errors import InstrumentError
from toolkit.yaml_lines import LocatedYaml, load_with_lines

BASE_TYPES = ("select_one", "select_multiple", "likert", "integer", "decimal", "text", "date")
RELEVANT_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Choice(_Strict):
    """One answer option.

    ``groups`` places the option in coarser levels of an equality hierarchy, e.g.
    ``{"grouped": "Asian or Asian British", "binary": "Ethnic minority"}``.
    ``synonyms`` are other spellings ingest accepts (e.g. NHS ETHNIC CATEGORY codes).
    ``missing`` marks non-substantive answers such as "Prefer not to say".
    """

    code: str
    label: str
    synonyms: tuple[str, ...] = ()
    missing: bool = False
    groups: dict[str, str] = Field(default_factory=dict)


class Scale(_Strict):
    """A multi-item score, scored as the NHS Staff Survey scores its sub-scores.

    Each five-point item is scored 0, 2.5, 5, 7.5, 10 with the favourable end at 10
    (``reversed`` items flipped); a person's score is the mean of answered items when at
    least ``min_answered`` were answered.
    """

    name: str
    label: str
    items: tuple[str, ...]
    reversed: tuple[str, ...] = ()
    min_answered: int = 1
    nss_theme: str | None = None


class Item(_Strict):
    """One question."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    type: str
    label: str
    hint: str | None = None
    required: bool = False
    relevant: str | None = None
    constraint: str | None = None
    min: float | None = None
    max: float | None = None
    nss_item: str | None = None
    standards: tuple[str, ...] = ()
    programme: tuple[Literal["train", "retain", "reform", "equality"], ...] = ()
    equality_role: str | None = None
    source: str | None = None

    @property
    def base_type(self) -> str:
        """The type without its list, e.g. ``select_one``."""
        return self.type.split()[0]

    @property
    def list_name(self) -> str | None:
        """The choice list a select or likert item uses, else ``None``."""
        parts = self.type.split()
        return parts[1] if len(parts) > 1 else None

    def referenced_items(self) -> list[str]:
        """Item names named in ``relevant`` as ``${name}``."""
        return RELEVANT_REFERENCE.findall(self.relevant or "")


class Dimension(_Strict):
    """An equality dimension: the item it comes from, its levels and reference groups.

    ``levels`` run from most detailed to coarsest. ``detailed`` is the choice label itself;
    other levels read the choice's ``groups`` entry of the same name. ``derived`` names a
    rule in :mod:`toolkit.dimensions` for dimensions built from several items (disability).
    """

    name: str
    label: str
    item: str | None = None
    derived: str | None = None
    items: tuple[str, ...] = ()
    levels: tuple[str, ...] = ("detailed",)
    reference: dict[str, str]
    categories: dict[str, tuple[str, ...]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_source(self) -> Dimension:
        if (self.item is None) == (self.derived is None):
            raise ValueError("give exactly one of 'item' or 'derived'")
        missing = [level for level in self.levels if level not in self.reference]
        if missing:
            raise ValueError(f"no reference group for level(s) {missing}")
        return self


class Instrument(_Strict):
    """A survey instrument (one version)."""

    name: str
    title: str
    version: str
    applies_from: int
    description: str | None = None
    include: tuple[str, ...] = ()
    choice_lists: dict[str, tuple[Choice, ...]] = Field(default_factory=dict)
    items: tuple[Item, ...] = ()
    scales: tuple[Scale, ...] = ()
    dimensions: tuple[Dimension, ...] = ()

    @cached_property
    def item_map(self) -> dict[str, Item]:
        """Items by name."""
        return {item.name: item for item in self.items}

    def choices(self, item: str | Item) -> tuple[Choice, ...]:
        """The options of a select or likert item (empty for other types)."""
        resolved = self.item_map[item] if isinstance(item, str) else item
        return self.choice_lists.get(resolved.list_name or "", ())

    def dimension(self, name: str) -> Dimension:
        """The equality dimension called ``name``."""
        for dimension in self.dimensions:
            if dimension.name == name:
                return dimension
        known = ", ".join(d.name for d in self.dimensions)
        raise InstrumentError(
            code="instrument.unknown_dimension",
            message=f"instrument {self.name!r} has no dimension {name!r}",
            expected=f"one of {known}",
        )


def _semantic_errors(inst: Instrument) -> list[tuple[tuple[str | int, ...], str, str]]:
    """Cross-reference checks pydantic cannot do: (path, message, fix) triples."""
    errors: list[tuple[tuple[str | int, ...], str, str]] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(inst.items):
        path: tuple[str | int, ...] = ("items", index)
        if item.name in seen:
            errors.append(
                (
                    (*path, "name"),
                    f"duplicate item name {item.name!r} (first used by item {seen[item.name] + 1})",
                    "give every item a unique name",
                )
            )
        seen.setdefault(item.name, index)
        if item.base_type not in BASE_TYPES:
            errors.append(
                (
                    (*path, "type"),
                    f"unknown item type {item.type!r}",
                    f"use one of {', '.join(BASE_TYPES)}",
                )
            )
        needs_list = item.base_type in ("select_one", "select_multiple", "likert")
        if needs_list and item.list_name not in inst.choice_lists:
            errors.append(
                (
                    (*path, "type"),
                    f"item {item.name!r} uses choice list {item.list_name!r}, which is not defined",
                    "add the list under choice_lists or correct its name",
                )
            )
        errors.extend(
            (
                (*path, "relevant"),
                f"'relevant' of {item.name!r} names unknown item {ref!r}",
                "refer to an item defined in this instrument as ${name}",
            )
            for ref in item.referenced_items()
            if ref not in inst.item_map
        )
    for index, scale in enumerate(inst.scales):
        errors.extend(
            (
                ("scales", index, "items"),
                f"scale {scale.name!r} lists unknown item {name!r}",
                "list only items defined in this instrument",
            )
            for name in (*scale.items, *scale.reversed)
            if name not in inst.item_map
        )
    for index, dimension in enumerate(inst.dimensions):
        errors.extend(
            (
                ("dimensions", index, "item" if dimension.item else "items"),
                f"dimension {dimension.name!r} uses unknown item {name!r}",
                "name an item defined in this instrument or in an included file",
            )
            for name in ([dimension.item] if dimension.item else list(dimension.items))
            if name not in inst.item_map
        )
    return errors


class _Origins:
    """Where each merged value came from, so errors point into the right file and line."""

    def __init__(self, main: LocatedYaml) -> None:
        self.main = main
        self.entries: dict[tuple[str, int], tuple[LocatedYaml, int]] = {}
        self.lists: dict[str, LocatedYaml] = {}

    def locate(self, path: tuple[str | int, ...]) -> tuple[str, int | None]:
        """``(file, line)`` of the value at ``path`` in the merged document."""
        if len(path) >= 2 and (str(path[0]), path[1]) in self.entries:
            located, index = self.entries[(str(path[0]), int(path[1]))]
            return str(located.file), located.line_of((path[0], index, *path[2:]))
        if len(path) >= 2 and path[0] == "choice_lists" and str(path[1]) in self.lists:
            located = self.lists[str(path[1])]
            return str(located.file), located.line_of(path)
        return str(self.main.file), self.main.line_of(path)


def _merge_includes(located: LocatedYaml) -> tuple[dict, _Origins]:
    """The instrument with its ``include`` files merged in, and the origin of each entry."""
    data = located.data
    origins = _Origins(located)
    sources = [
        load_with_lines(located.file.parent / f"{name}.yaml") for name in data.get("include", ())
    ]
    merged = dict(data)
    for key in ("items", "dimensions"):
        merged[key] = []
        for source in [*sources, located]:
            for index, entry in enumerate(source.data.get(key, []) or []):
                origins.entries[(key, len(merged[key]))] = (source, index)
                merged[key].append(entry)
    merged["choice_lists"] = {}
    for source in [*sources, located]:
        for list_name, choices in (source.data.get("choice_lists", {}) or {}).items():
            origins.lists[list_name] = source
            merged["choice_lists"][list_name] = choices
    return merged, origins


def _first_error(
    origins: _Origins, problems: list[tuple[tuple[str | int, ...], str, str]]
) -> InstrumentError | None:
    """The error to raise for the first problem (the others are listed in its details)."""
    if not problems:
        return None
    path, message, fix = problems[0]
    file, line = origins.locate(path)
    more = f" ({len(problems) - 1} more problem(s) after this one)" if len(problems) > 1 else ""
    return InstrumentError(
        code="instrument.invalid",
        message=message + more,
        file=file,
        line=line,
        fix=fix,
        details={"problems": [m for _, m, _ in problems]},
    )


def load_instrument(path: Path) -> Instrument:
    """Load and validate one instrument file (and the files it includes).

    Args:
        path: a YAML instrument such as ``surveys/retention.yaml``.

    Returns:
        The validated :class:`Instrument`.

    Raises:
        InstrumentError: located at ``file:line`` with the rule broken and a fix.
    """
    located = load_with_lines(path)
    if not isinstance(located.data, dict):
        raise InstrumentError(
            code="instrument.not_a_mapping",
            message="an instrument file must be a mapping with name, title, version and items",
            file=str(path),
            line=1,
            fix="start the file with 'name:', 'title:', 'version:', 'applies_from:' and 'items:'",
        )
    data, origins = _merge_includes(located)
    try:
        instrument = Instrument.model_validate(data)
    except ValidationError as exc:
        problems = [
            (
                tuple(err["loc"]),
                f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}",
                "see the instrument format in surveys/README.md",
            )
            for err in exc.errors()
        ]
        raise _first_error(origins, problems) or InstrumentError(
            code="instrument.invalid", message=str(exc), file=str(path)
        ) from exc
    error = _first_error(origins, _semantic_errors(instrument))
    if error is not None:
        raise error
    return instrument


def instrument_path(surveys_dir: Path, name: str) -> Path:
    """The YAML file of instrument ``name`` in ``surveys_dir``, with a clear error if absent."""
    path = surveys_dir / f"{name}.yaml"
    if not path.exists():
        available = sorted(p.stem for p in surveys_dir.glob("*.yaml"))
        raise InstrumentError(
            code="instrument.unknown",
            message=f"no instrument called {name!r}",
            file=str(surveys_dir),
            expected=f"one of {', '.join(available)}",
            fix="run `ptw survey list`",
        )
    return path
