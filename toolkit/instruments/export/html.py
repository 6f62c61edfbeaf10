"""Small, accessible, self-contained HTML pages (no scripts, no external resources)."""

from __future__ import annotations

from html import escape

import pandas as pd

STYLE = """
body { font-family: Arial, Helvetica, sans-serif; max-width: 60rem; margin: 2rem auto;
       padding: 0 1rem; color: #1a1a1a; line-height: 1.45; }
table { border-collapse: collapse; margin: 1rem 0 2rem; font-size: 0.9rem; }
caption { text-align: left; font-weight: bold; padding: 0.3rem 0; }
th, td { border: 1px solid #767676; padding: 0.3rem 0.5rem; vertical-align: top; text-align: left; }
th { background: #e8e8e8; }
.question { margin: 1.5rem 0; page-break-inside: avoid; }
.hint, .condition, .code { color: #4a4a4a; font-size: 0.9rem; }
ul.options { list-style: none; padding-left: 1rem; }
"""


def page(title: str, body: str) -> str:
    """A complete HTML5 document with ``title`` as its ``<title>`` and first heading."""
    return (
        '<!DOCTYPE html>\n<html lang="en-GB">\n<head>\n<meta charset="utf-8">\n'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n"
        f"<h1>{escape(title)}</h1>\n{body}\n</main>\n</body>\n</html>\n"
    )


def table(frame: pd.DataFrame, caption: str) -> str:
    """``frame`` as a table with a caption and column headers (every header cell named)."""
    head = "".join(f'<th scope="col">{escape(str(column))}</th>' for column in frame.columns)
    body = "\n".join(
        "<tr>" + "".join(f"<td>{escape(_cell(value))}</td>" for value in row) + "</tr>"
        for row in frame.itertuples(index=False)
    )
    return (
        f"<table>\n<caption>{escape(caption)}</caption>\n<thead><tr>{head}</tr></thead>\n"
        f"<tbody>\n{body}\n</tbody>\n</table>\n"
    )


def _cell(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else ""
    return "" if value is None else str(value)
