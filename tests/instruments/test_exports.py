"""Exports: codebook (HTML + XLSX), template (CSV + XLSX drop-downs), questionnaire (HTML +
docx through pandoc) and XLSForm (checked by pyxform's converter, as ODK / Kobo would)."""

from __future__ import annotations

import csv
import re

import pypandoc
import pytest
from openpyxl import load_workbook
from pyxform.xls2xform import convert
from typer.testing import CliRunner

from toolkit.cli import app
from toolkit.errors import InstrumentError
from toolkit.instruments.export import export_instrument
from toolkit.instruments.export.template import template_columns


def test_codebook_lists_every_item_option_scale_and_standard(tmp_path, culture):
    html_path, xlsx_path = export_instrument(culture, "codebook", tmp_path)
    html = html_path.read_text(encoding="utf-8")
    assert html.count("<tr>") > len(culture.items) and 'scope="col"' in html
    assert "WRES 5, WDES 4a, PWRES" in html and "BAFR = African" in html
    workbook = load_workbook(xlsx_path, read_only=True)
    assert workbook.sheetnames == ["items", "choices", "scales", "dimensions"]
    rows = list(workbook["items"].iter_rows(values_only=True))
    assert len(rows) == len(culture.items) + 1
    by_item = {row[0]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
    assert by_item["harassment_public"]["nss_item"] == "q13a"
    assert by_item["recommend_work"]["scales"] == "staff_engagement"


def test_template_header_is_what_ingest_matches(tmp_path, retention):
    csv_path, _ = export_instrument(retention, "template", tmp_path)
    with csv_path.open(encoding="utf-8", newline="") as handle:
        header = next(csv.reader(handle))
    assert header == template_columns(retention)
    assert header[0] == "respondent_id" and "disability_self_declared" not in header
    assert {item.name for item in retention.items if item.required} <= set(header)


def test_template_workbook_has_a_drop_down_per_single_choice_column(tmp_path, retention):
    _, xlsx_path = export_instrument(retention, "template", tmp_path)
    workbook = load_workbook(xlsx_path)
    sheet = workbook["responses"]
    assert workbook.sheetnames[0] == "responses" and workbook["lists"].sheet_state == "hidden"
    header = [cell.value for cell in sheet[1]]
    validations = {
        re.match(r"[A-Z]+", str(dv.sqref)).group(): dv
        for dv in sheet.data_validations.dataValidation
    }
    lists = workbook["lists"]
    for column, name in enumerate(header, start=1):
        item = retention.item_map[name]
        letter = sheet.cell(row=1, column=column).column_letter
        if item.base_type in ("select_one", "likert"):
            target = validations[letter].formula1.split("!")[1].replace("$", "")
            labels = [cell.value for row in lists[target] for cell in row]
            assert labels == [c.label for c in retention.choices(item)], name
        else:
            assert letter not in validations, name


def test_questionnaire_numbers_questions_and_routing_in_html_and_docx(tmp_path, culture):
    html_path, docx_path = export_instrument(culture, "questionnaire", tmp_path)
    html = html_path.read_text(encoding="utf-8")
    assert "Q1. What is your ethnic group?" in html
    assert "Answer only if Q2 is &quot;Yes&quot; and (Q3 is &quot;Yes, a lot&quot;" in html
    text = pypandoc.convert_file(str(docx_path), "plain", extra_args=["--wrap=none"])
    asked = [item for item in culture.items if item.ask and not item.identifier]
    assert f"Q{len(asked)}. " in text and f"Q{len(asked) + 1}. " not in text
    assert "In the last 12 months how many times have you personally experienced harassment" in text


@pytest.mark.parametrize("name", ["retention", "culture"])
def test_xlsform_passes_pyxform(tmp_path, request, name):
    instrument = request.getfixturevalue(name)
    (path,) = export_instrument(instrument, "xlsform", tmp_path)
    result = convert(xlsform=str(path), validate=False)
    assert result.warnings == []
    assert f'id="ptw_{name}"' in result.xform
    assert "once(uuid())" in result.xform
    assert result.xform.count("<bind ") >= len([i for i in instrument.items if i.ask])


def test_unknown_format_is_refused(tmp_path, retention):
    with pytest.raises(InstrumentError, match="unknown export format"):
        export_instrument(retention, "pdf", tmp_path)


@pytest.mark.parametrize("command", [[], ["list"], ["show"], ["export"], ["diff"]])
def test_every_survey_command_has_help(command):
    result = CliRunner().invoke(app, ["survey", *command, "--help"], terminal_width=120)
    assert result.exit_code == 0 and "Usage" in result.output


def test_cli_export_writes_the_files(tmp_path):
    result = CliRunner().invoke(
        app,
        ["survey", "export", "culture", "--format", "xlsform", "--out", str(tmp_path)],
        terminal_width=200,
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "culture-2025.1-xlsform.xlsx").exists()
