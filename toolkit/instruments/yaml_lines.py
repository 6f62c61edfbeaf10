"""YAML loading that remembers where each value came from.

``yaml.safe_load`` forgets line numbers, but every definition error must be reported as
``file:line``. :func:`load_with_lines` returns the plain data together with a map from each
value's path (a tuple of keys and list indices) to its 1-based line.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from toolkit.errors import InstrumentError

PathKey = tuple[str | int, ...]


@dataclass(frozen=True)
class LocatedYaml:
    """Parsed YAML data and the line of every value in it.

    Attributes:
        data: the document as ``yaml.safe_load`` would return it.
        lines: path of keys/indices -> 1-based line where that value starts.
        file: the file it came from.
    """

    data: Any
    lines: dict[PathKey, int]
    file: Path

    def line_of(self, path: PathKey) -> int | None:
        """The line of ``path`` or of its nearest enclosing value that has one."""
        probe = tuple(path)
        while probe:
            if probe in self.lines:
                return self.lines[probe]
            probe = probe[:-1]
        return self.lines.get((), None)


_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's parser where PyYAML was built with it (the pinned wheels are), else PyYAML's own:
the same nodes and marks, several times faster."""


def _to_python(
    node: yaml.Node, path: PathKey, lines: dict[PathKey, int], scalars: yaml.SafeLoader
) -> Any:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = scalars.construct_object(key_node, deep=True)
            result[key] = _to_python(value_node, (*path, key), lines, scalars)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_to_python(child, (*path, i), lines, scalars) for i, child in enumerate(node.value)]
    return scalars.construct_object(node, deep=True)


def _compose(text: str) -> yaml.Node | None:
    """The document's node tree, parsed by libyaml; a document it rejects is parsed again by
    PyYAML, whose error says what it found as well as what it expected."""
    try:
        return yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError:
        return yaml.compose(text, Loader=yaml.SafeLoader)


def load_with_lines(path: Path) -> LocatedYaml:
    """Read a YAML file safely, keeping line numbers.

    Raises:
        InstrumentError: the file is missing or is not valid YAML (with the line of the
            syntax error).
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise InstrumentError(
            code="definition.missing_file",
            message="file not found",
            file=str(path),
            fix="check the path or run `ptw survey list` to see the instruments available",
        ) from exc
    try:
        node = _compose(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        raise InstrumentError(
            code="definition.yaml_syntax",
            message=f"not valid YAML: {exc.problem}",
            file=str(path),
            line=mark.line + 1 if mark else None,
            fix="check indentation and quoting around this line",
        ) from exc
    lines: dict[PathKey, int] = {}
    if node is None:
        return LocatedYaml(data=None, lines=lines, file=path)
    scalars = yaml.SafeLoader("")  # the safe constructors only; one for the whole document
    try:
        data = _to_python(node, (), lines, scalars)
    finally:
        scalars.dispose()
    return LocatedYaml(data=data, lines=lines, file=path)
