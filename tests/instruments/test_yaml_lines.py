"""Instruments are parsed by libyaml for speed; what comes back (values and the line of every
value) must be exactly what PyYAML's own parser gives."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from toolkit.instruments import yaml_lines
from toolkit.resources import surveys_dir

SHIPPED = sorted(surveys_dir().rglob("*.yaml"))


def test_the_pinned_pyyaml_has_libyaml() -> None:
    assert yaml_lines._Loader is yaml.CSafeLoader


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_libyaml_gives_the_values_and_lines_pyyaml_gives(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast = yaml_lines.load_with_lines(path)
    monkeypatch.setattr(yaml_lines, "_Loader", yaml.SafeLoader)
    own = yaml_lines.load_with_lines(path)

    assert fast.data == own.data
    assert fast.lines == own.lines
    assert len(fast.lines) > 20
