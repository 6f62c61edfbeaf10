"""The printable questionnaire: numbered questions, options and routing, as HTML and docx.

The HTML is written here; pandoc (from the ``pypandoc_binary`` wheel) converts it to docx,
so both say the same thing. Routing (``relevant``) is shown in plain words with question
numbers, e.g. ``Answer only if Q2 is "Yes"``.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

import pypandoc

from toolkit.instruments.export.html import page
from toolkit.instruments.export.tables import describe_relevant, output_path, template_items
from toolkit.instruments.model import Instrument, Item

_INSTRUCTIONS = {
    "select_one": "Choose one answer.",
    "likert": "Choose one answer.",
    "select_multiple": "Select all that apply.",
    "integer": "Write a whole number.",
    "decimal": "Write a number.",
    "text": "Write your answer.",
    "date": "Write a date (DD/MM/YYYY).",
}


def question_numbers(instrument: Instrument) -> dict[str, str]:
    """Item name -> ``Q1``, ``Q2``... in questionnaire order (identifier items not numbered)."""
    asked = [item for item in template_items(instrument) if not item.identifier]
    return {item.name: f"Q{number}" for number, item in enumerate(asked, start=1)}


def _question_html(instrument: Instrument, item: Item, numbers: dict[str, str]) -> str:
    marker = "&#9744;" if item.base_type == "select_multiple" else "&#9675;"
    parts = [
        f'<div class="question" id="{escape(item.name)}">',
        f"<h3>{numbers[item.name]}. {escape(item.label)}</h3>",
    ]
    if item.relevant:
        condition = describe_relevant(instrument, item.relevant, numbers)
        parts.append(f'<p class="condition">Answer only if {escape(condition)}.</p>')
    hint = " ".join(filter(None, [item.hint, _INSTRUCTIONS.get(item.base_type, "")]))
    parts.append(f'<p class="hint">{escape(hint)}</p>')
    options = instrument.choices(item)
    if options:
        parts.append('<ul class="options">')
        parts.extend(
            f'<li>{marker} {escape(c.label)} <span class="code">[{escape(c.code)}]</span></li>'
            for c in options
        )
        parts.append("</ul>")
    else:
        parts.append('<p class="hint">Answer: ______________________________</p>')
    parts.append("</div>")
    return "\n".join(parts)


def questionnaire_html(instrument: Instrument) -> str:
    """The whole questionnaire as one HTML document."""
    numbers = question_numbers(instrument)
    intro = (
        f"<p>Version {escape(instrument.version)} (from the {instrument.applies_from} cycle). "
        "Codes in brackets are what the data store keeps; survey platforms may export either "
        "the answer text or the code. Questions about you (equality monitoring) all offer "
        "'Prefer not to say'.</p>\n"
    )
    questions = "\n".join(
        _question_html(instrument, item, numbers)
        for item in template_items(instrument)
        if not item.identifier
    )
    return page(instrument.title, intro + "<h2>Questions</h2>\n" + questions)


def write_questionnaire(instrument: Instrument, out_dir: Path) -> list[Path]:
    """Write ``NAME-VERSION-questionnaire.html`` and ``.docx``; return their paths."""
    html_path = output_path(instrument, out_dir, "questionnaire", "html")
    html = questionnaire_html(instrument)
    html_path.write_text(html, encoding="utf-8")
    docx_path = output_path(instrument, out_dir, "questionnaire", "docx")
    pypandoc.convert_text(html, "docx", format="html", outputfile=str(docx_path))
    return [html_path, docx_path]
