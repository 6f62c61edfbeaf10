"""The quarto engine's subprocess handling, checked against a fake `quarto` on PATH.

This tests our command construction, working copy, output moving and error reporting; it does
not test Quarto. The fake script fails unless it is called exactly as Quarto expects:
`quarto render FILE.qmd --to FMT --output NAME.EXT -P report_config:PATH [-M ...]`, with an
output name that has no folder and a config path that exists.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from toolkit.errors import RenderError
from toolkit.report.render import available_engines, choose_engine, render_report

FAKE_QUARTO = r"""#!/usr/bin/env bash
set -u
if [ "$1" = "--version" ]; then echo "1.9.99"; exit 0; fi
[ "$1" = "render" ] || { echo "expected render, got $1" >&2; exit 2; }
qmd="$2"; shift 2
[ -f "$qmd" ] || { echo "no $qmd in $(pwd)" >&2; exit 2; }
to=""; output=""; param=""
while [ $# -gt 0 ]; do
  case "$1" in
    --to) to="$2"; shift 2 ;;
    --output) output="$2"; shift 2 ;;
    -P) param="$2"; shift 2 ;;
    -M) echo "$2" >> meta.txt; shift 2 ;;
    *) echo "unexpected argument $1" >&2; exit 2 ;;
  esac
done
case "$output" in */*) echo "--output must not contain a path: $output" >&2; exit 2 ;; esac
case "$param" in report_config:/*) ;; *) echo "bad -P $param" >&2; exit 2 ;; esac
config="${param#report_config:}"
[ -f "$config" ] || { echo "config $config missing" >&2; exit 2; }
if grep -q FAIL "$config"; then echo "ERROR: compilation failed: missing figure" >&2; exit 1; fi
mkdir -p _output
{ echo "format=$to"; echo "pwd=$(pwd)"; echo "python=${QUARTO_PYTHON:-}"; cat "$config";
  cat meta.txt 2>/dev/null; } > "_output/$output"
"""


@pytest.fixture()
def fake_quarto(tmp_path, monkeypatch) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "quarto"
    script.write_text(FAKE_QUARTO, encoding="utf-8")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return script


def test_auto_picks_quarto_when_on_path(fake_quarto):
    assert choose_engine("auto") == "quarto"
    engines = available_engines()
    assert engines["quarto"] == {"available": True, "path": str(fake_quarto), "version": "1.9.99"}
    assert engines["auto"] == {"engine": "quarto"}


def test_quarto_render_command_and_outputs(fake_quarto, fixture_template, tmp_path):
    result = render_report(
        fixture_template,
        config={"region": "London", "bundle": tmp_path / "bundle"},
        out_dir=tmp_path / "out",
        formats=("html", "docx"),
        output_name="london",
    )
    assert result.engine == "quarto"
    assert result.outputs == {
        "html": tmp_path / "out" / "london.html",
        "docx": tmp_path / "out" / "london.docx",
    }
    html = result.outputs["html"].read_text(encoding="utf-8")
    assert "format=html" in html and "embed-resources:true" in html
    docx = result.outputs["docx"].read_text(encoding="utf-8")
    assert "format=docx" in docx
    assert re.search(r"^reference-doc:/\S+/reference\.docx$", docx, re.M)  # A4, as builtin
    working_copy = Path(html.split("pwd=")[1].splitlines()[0])
    assert working_copy != fixture_template.parent
    assert not working_copy.exists()  # the temporary copy is removed after the render
    config = json.loads(html[html.index("{") : html.rindex("}") + 1])
    assert config == {"bundle": str(tmp_path / "bundle"), "region": "London"}


def test_quarto_failure_raises_with_its_stderr(fake_quarto, fixture_template, tmp_path):
    with pytest.raises(RenderError) as raised:
        render_report(fixture_template, config={"flag": "FAIL"}, out_dir=tmp_path, engine="quarto")
    assert raised.value.code == "render.quarto_failed"
    assert "compilation failed: missing figure" in str(raised.value)
    assert raised.value.file == str(fixture_template)


def test_quarto_engine_without_quarto_is_an_error(fixture_template, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert choose_engine("auto") == "builtin"
    with pytest.raises(RenderError, match="not on PATH"):
        render_report(fixture_template, config={}, out_dir=tmp_path, engine="quarto")
