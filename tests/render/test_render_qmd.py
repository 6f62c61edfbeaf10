"""Reading .qmd templates: `#|` options, chunk lines, front matter, parameter injection."""

from __future__ import annotations

import pytest

from toolkit.errors import RenderError
from toolkit.report.render.qmd import (
    DEFAULT_CELL_OPTIONS,
    cell_options,
    inject_parameters,
    parse_cell_options,
    read_qmd,
)

TEMPLATE = """\
---
title: "Regional report"
execute:
  warning: false
---

## Intro

```{python}
import json
```

```{python}
#| tags: [parameters]
report_config = "default.json"
```

```{python}
#| label: fig-rates
#| fig-cap: "Rates: by group"
#| fig-alt: Bar chart
#| echo: true
x = 1
```
"""


@pytest.fixture()
def template(tmp_path):
    path = tmp_path / "regional.qmd"
    path.write_text(TEMPLATE, encoding="utf-8")
    return path


def test_options_are_parsed_and_removed_from_the_source(template):
    document = read_qmd(template)
    code = [cell for cell in document.notebook.cells if cell.cell_type == "code"]
    assert [cell.metadata["ptw"]["line"] for cell in code] == [9, 13, 18]
    figure = code[2]
    assert figure.metadata["ptw"]["options"] == {
        "label": "fig-rates",
        "fig-cap": "Rates: by group",
        "fig-alt": "Bar chart",
        "echo": True,
    }
    assert figure.source == "x = 1"
    assert code[1].metadata["tags"] == ["parameters"]
    assert document.front_matter["title"] == "Regional report"


def test_effective_options_layer_defaults_front_matter_and_cell(template):
    document = read_qmd(template)
    first, _, figure = (cell for cell in document.notebook.cells if cell.cell_type == "code")
    assert cell_options(first, document.front_matter) == {
        **DEFAULT_CELL_OPTIONS,
        "warning": False,
    }
    assert cell_options(figure, document.front_matter)["echo"] is True
    assert DEFAULT_CELL_OPTIONS["echo"] is False


def test_parameters_are_injected_right_after_the_parameters_cell(template):
    document = inject_parameters(read_qmd(template), {"report_config": "/tmp/config.json"})
    sources = [cell.source for cell in document.notebook.cells if cell.cell_type == "code"]
    assert sources == [
        "import json",
        'report_config = "default.json"',
        "report_config = '/tmp/config.json'",
        "x = 1",
    ]
    injected = document.notebook.cells[3]
    assert injected.metadata["tags"] == ["injected-parameters"]
    assert injected.metadata["ptw"]["options"] == {"include": False}


def test_template_without_parameters_cell_is_refused(tmp_path):
    path = tmp_path / "plain.qmd"
    path.write_text("# Plain\n\n```{python}\nreport_config = 'x'\n```\n", encoding="utf-8")
    with pytest.raises(RenderError) as raised:
        inject_parameters(read_qmd(path), {"report_config": "/tmp/c.json"})
    assert raised.value.code == "render.no_parameters_cell"
    assert "tags: [parameters]" in str(raised.value)


def test_bad_option_yaml_is_located(tmp_path):
    with pytest.raises(RenderError) as raised:
        parse_cell_options("#| label: [unclosed\nx = 1", path=tmp_path / "t.qmd", line=7)
    assert raised.value.line == 7
    assert raised.value.code == "render.bad_cell_options"


def test_options_must_be_a_mapping(tmp_path):
    with pytest.raises(RenderError, match="not a mapping"):
        parse_cell_options("#| just text\nx = 1", path=tmp_path / "t.qmd", line=3)


def test_source_without_options_is_unchanged(tmp_path):
    assert parse_cell_options("x = 1\n#| late: option", path=tmp_path, line=1) == (
        {},
        "x = 1\n#| late: option",
    )
