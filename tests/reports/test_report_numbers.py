"""A rendered-number audit: what a reader sees in the reports equals the bundle.

The reports rendered once by ``conftest.rendered`` (``ptw report --all-regions``) are read as a
reader would (HTML text without markup, the Word document's text), and each number in the key
findings and the indicator tables is checked against the bundle row it describes: respondents,
rates and their intervals, relative likelihoods and theirs. Also: no percentage above 100, no
variable name in visible text, categories in the instrument's order, and a region's report with
only that region's and England's figures. ``ptw report --region`` is exercised through the CLI.
"""

from __future__ import annotations

import html
import re
import zipfile
from pathlib import Path

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from toolkit.cli.report import report
from toolkit.report.runner import REGION_NAMES
from toolkit.report.sentences import percent, ratio

LATEST = 2025
HEADLINES = (("ethnicity", "Ethnic minority", "ethnic minority", "White"),
             ("disability", "Disabled", "disabled", "not disabled"))  # fmt: skip
CAREER_ORDER = ("Registered over 10 years", "Pre-registration trainee pharmacy technician",
                "Registered under 2 years", "Registered 2 to 5 years", "Registered 5 to 10 years")  # fmt: skip


def visible_text(path: Path) -> str:
    """The text a reader sees in an HTML report (no tags, styles, scripts or attributes)."""
    page = path.read_text(encoding="utf-8")
    page = re.sub(r"<(style|script)\b.*?</\1>", " ", page, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def docx_text(path: Path) -> str:
    """The text of a Word report (paragraphs and table cells, in document order)."""
    xml = zipfile.ZipFile(path).read("word/document.xml").decode("utf-8")
    runs = re.findall(r"<w:t(?:\s[^>]*)?>([^<]*)</w:t>|(</w:p>)", xml)
    return " ".join("".join(t if t else " " for t, _ in runs).split())


def _row(frame: pd.DataFrame, **values: object) -> pd.Series:
    mask = pd.Series(True, index=frame.index)
    for column, value in values.items():
        mask &= frame[column] == value
    (index,) = frame.index[mask]
    return frame.loc[index]


def _respondents(bundle, *, survey: str, region: str) -> int:
    """Responses accepted into the store for ``survey`` in the latest cycle (the manifest)."""
    return sum(int(b["accepted"]) for b in bundle.manifest["batches"]
               if b.get("survey") == survey and int(b["cycle"]) == LATEST
               and region in ("England", b["region"]))  # fmt: skip


def _headline(bundle, *, region: str, indicator: str, dimension: str, group: str) -> str:
    """The key-findings words for one headline comparison, from the bundle row."""
    comparisons = bundle.table("comparisons")
    where = dict(
        cycle=LATEST, region=region, indicator=indicator, dimension=dimension, level="binary"
    )
    row = _row(comparisons, group=group, **where)
    reference = _row(comparisons, group=row["reference_group"], **where)
    name, plain, other = next((g, p, o) for d, g, p, o in HEADLINES if d == dimension)
    assert name == group
    return (f"{plain} {percent(row['estimate'])} against {other} {percent(reference['estimate'])}: "
            f"{ratio(row['rel_likelihood'])} times as likely (95% CI {ratio(row['rl_ci_low'])} to "
            f"{ratio(row['rl_ci_high'])}")  # fmt: skip


@pytest.mark.parametrize("name", ["national", "regional-LON", "regional-NW"])
def test_key_findings_numbers_are_the_bundles(rendered, bundle, name):
    region = "England" if name == "national" else name.split("-")[1]
    place = REGION_NAMES.get(region, region)
    for text in (visible_text(rendered[name]["html"]), docx_text(rendered[name]["docx"])):
        for survey in ("culture", "retention"):
            count = _respondents(bundle, survey=survey, region=region)
            assert f"{count:,} people answered the {survey} survey" in text, (name, survey)
        assert f"{3 * _respondents(bundle, survey='culture', region=region):,}" not in text
        checked = 0
        for indicator in ("harassment_public", "think_leaving"):
            for dimension, group, _, _ in HEADLINES:
                row = _row(bundle.table("comparisons"), cycle=LATEST, region=region,
                           indicator=indicator, dimension=dimension, level="binary", group=group)  # fmt: skip
                if row["suppressed"] or pd.isna(row["rel_likelihood"]):
                    continue
                words = _headline(bundle, region=region, indicator=indicator,
                                  dimension=dimension, group=group)  # fmt: skip
                assert words in text, (name, words)
                checked += 1
        assert checked >= (2 if region == "England" else 0), place


def _table_rows(path: Path, title: str) -> list[list[str]]:
    """The body rows (cell texts) of the HTML table whose title is ``title``."""
    page = path.read_text(encoding="utf-8")
    for table in re.findall(r"<table\b.*?</table>", page, flags=re.S):
        if title in html.unescape(table):
            rows = re.findall(r"<tr\b.*?</tr>", table.split("<tbody", 1)[-1], flags=re.S)
            return [[" ".join(html.unescape(re.sub(r"<[^>]+>", " ", c)).split())
                     for c in re.findall(r"<t[dh]\b.*?</t[dh]>", r, flags=re.S)] for r in rows]  # fmt: skip
    raise AssertionError(f"no table titled {title!r} in {path.name}")


@pytest.mark.parametrize("name", ["national", "regional-LON"])
def test_indicator_tables_show_the_bundles_numbers(rendered, bundle, name):
    region = "England" if name == "national" else name.split("-")[1]
    place = REGION_NAMES.get(region, "England")
    labels = {i["name"]: i["label"] for i in bundle.manifest["plan"]["indicators"]}
    comparisons = bundle.table("comparisons")
    docx = docx_text(rendered[name]["docx"])
    for indicator, label in labels.items():
        if indicator not in set(comparisons["indicator"]):
            continue
        rows = _table_rows(
            rendered[name]["html"], f"{label}: ethnicity and disability, {place}, {LATEST}"
        )
        assert len(rows) == 4
        for cells in rows:
            group = cells[0].removesuffix(" (reference)")
            dimension = "ethnicity" if group in ("White", "Ethnic minority") else "disability"
            row = _row(comparisons, cycle=LATEST, region=region, indicator=indicator,
                       dimension=dimension, level="binary", group=group)  # fmt: skip
            if row["suppressed"]:
                assert set(cells[1:4]) == {"suppressed"}
                continue
            rate = f"{percent(row['estimate'])} ({percent(row['ci_low'])} to {percent(row['ci_high'])})"
            assert cells[1:3] == [f"{int(row['n']):,}", rate], (indicator, cells)
            if not row["is_reference"]:
                rl = f"{ratio(row['rel_likelihood'])} ({ratio(row['rl_ci_low'])} to {ratio(row['rl_ci_high'])})"
                assert cells[3] == rl, (indicator, cells)
            assert rate in docx


def test_no_percentage_above_100_and_no_variable_names(rendered):
    for name, files in rendered.items():
        for text in (visible_text(files["html"]), docx_text(files["docx"])):
            shares = [float(v) for v in re.findall(r"(\d+(?:\.\d+)?)\s?%", text)]
            assert shares and max(shares) <= 100, (name, max(shares))
            names = set(re.findall(r"\b[a-z][a-z0-9]*_[a-z0-9_]+\b", text))
            assert not names, (name, sorted(names)[:10])


def test_categories_follow_the_instrument_with_the_reference_first(rendered):
    rows = _table_rows(rendered["national"]["html"], "Respondents by group, the culture survey")
    groups = [cells[1] for cells in rows if len(cells) > 1 and cells[1] in CAREER_ORDER]
    assert groups == list(CAREER_ORDER)


def test_a_regional_report_holds_only_its_region_and_england(rendered, bundle):
    for code, place in REGION_NAMES.items():
        text = visible_text(rendered[f"regional-{code}"]["html"])
        assert f"equality report: {place}" in text  # the title names the region
        others = [name for other, name in REGION_NAMES.items() if other != code and name in text]
        assert not others, (code, others)
        assert "England" in text


def test_report_region_by_name_or_code_renders_the_regional_report(report_space, tmp_path):
    app = typer.Typer()
    app.command()(report)
    target = report_space.report_dir / "regional-LON.html"
    for region in ("London", "LON"):
        target.unlink(missing_ok=True)
        result = CliRunner().invoke(app, ["--region", region, "--engine", "builtin",
                                          "--workspace", str(report_space.root)])  # fmt: skip
        assert result.exit_code == 0, result.output
        assert "regional-LON" in result.output and "national" not in result.output
        page = visible_text(target)
        assert "equality report: London" in page and "Key findings" in page


def test_heat_map_column_keys_number_the_columns_drawn_without_gaps(rendered):
    """A numbered heat map's caption keys its columns 1, 2, ..., k: an indicator with no
    comparison in the map (reasonable adjustments, asked of disabled staff only) leaves no
    missing number for a reader to look for."""
    keys = re.findall(r"Columns: (.*?)\.(?: |$)", visible_text(rendered["national"]["html"]))
    assert keys
    for key in keys:
        numbers = [int(n) for n in re.findall(r"(?:^|; )(\d+) ", key)]
        assert numbers == list(range(1, len(numbers) + 1)), key
