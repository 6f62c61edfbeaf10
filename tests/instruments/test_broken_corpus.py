"""The broken-instrument corpus: each file breaks one rule and fails with its exact message.

Each file in ``broken/`` starts with ``# rule: CODE`` and ``# expected: MESSAGE``; the
message names the file and line, the rule broken and a fix.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from toolkit.errors import InstrumentError
from toolkit.instruments.model import RULES, load_instrument

BROKEN = sorted((Path(__file__).parent / "broken").glob("*.yaml"))


def _header(path: Path) -> tuple[str, str]:
    rule, expected = path.read_text(encoding="utf-8").splitlines()[:2]
    return rule.removeprefix("# rule: "), expected.removeprefix("# expected: ")


def test_corpus_covers_at_least_twelve_rules():
    rules = {_header(path)[0] for path in BROKEN}
    assert len(BROKEN) >= 12 and len(rules) >= 12


@pytest.mark.parametrize("path", BROKEN, ids=[p.stem for p in BROKEN])
def test_broken_instrument_fails_with_its_expected_message(path):
    rule, expected = _header(path)
    with pytest.raises(InstrumentError) as caught:
        load_instrument(path)
    error = caught.value
    assert error.code == rule
    assert rule in RULES or rule == "definition.yaml_syntax"
    assert error.line is not None and error.fix
    assert str(error).replace(str(path.parent) + "/", "") == expected
