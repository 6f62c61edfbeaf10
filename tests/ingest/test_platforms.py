"""Acceptance: an export of each common survey platform, in the layout that platform writes,
ingests with zero quarantined rows and no mapping file; the platform's metadata (names,
e-mail and IP addresses) is not stored anywhere.

Each sample export is built here from the platform's layout: its metadata columns, its
identifier column, how it heads questions, and how it writes several choices of a
multi-select (Qualtrics: one column, joined by commas; SurveyMonkey: a question header over
one column per option, options in a second header row; Microsoft Forms: joined by ';' with
a trailing ';'; Google Forms: joined by ', ', no identifier). The answers are the codes
drawn by toolkit.synth.responses; the stored table must hold them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from openpyxl import Workbook

from tests.ingest.conftest import culture_codes, ptw, to_labels
from toolkit.config import init_workspace
from toolkit.ingest.coding import _AMBIGUOUS, split_platform_joined
from toolkit.ingest.mapping import normalise
from toolkit.instruments.model import Instrument
from toolkit.store.database import ResponseStore

MULTI = "discrimination_grounds"
ID = "respondent_id"
EMAIL = "someone.private@nhs.example"
IP = "203.0.113.77"

QUALTRICS_META = [
    ("StartDate", "Start Date", "startDate"), ("EndDate", "End Date", "endDate"),
    ("Status", "Response Type", "status"), ("IPAddress", "IP Address", "ipAddress"),
    ("Progress", "Progress", "progress"), ("Duration (in seconds)", "Duration (in seconds)", "duration"),
    ("Finished", "Finished", "finished"), ("RecordedDate", "Recorded Date", "recordedDate"),
    ("ResponseId", "Response ID", "_recordId"), ("RecipientLastName", "Recipient Last Name", "recipientLastName"),
    ("RecipientFirstName", "Recipient First Name", "recipientFirstName"),
    ("RecipientEmail", "Recipient Email", "recipientEmail"),
    ("ExternalReference", "External Data Reference", "externalDataReference"),
    ("LocationLatitude", "Location Latitude", "locationLatitude"),
    ("LocationLongitude", "Location Longitude", "locationLongitude"),
    ("DistributionChannel", "Distribution Channel", "distributionChannel"),
    ("UserLanguage", "User Language", "userLanguage"),
]  # fmt: skip
QUALTRICS_VALUES = {"IPAddress": IP, "RecipientEmail": EMAIL, "RecipientLastName": "Patel",
                    "RecipientFirstName": "Asha", "Finished": "True", "Progress": "100",
                    "DistributionChannel": "anonymous", "UserLanguage": "EN-GB"}  # fmt: skip


def _answers(
    codes: pd.DataFrame, instrument: Instrument, *, labels: bool, join: str
) -> pd.DataFrame:
    """Answers without the identifier: labels (multi-select joined by ``join``) or codes."""
    frame = to_labels(codes, instrument, join=join) if labels else codes.copy()
    if not labels:
        frame[MULTI] = codes[MULTI].str.replace(" ", join)
    return frame.drop(columns=[ID])


def qualtrics(codes: pd.DataFrame, instrument: Instrument, path: Path, *, values: str) -> None:
    """Three header rows (export tag, question text, import id); metadata first; the
    multi-select in one column, choices joined by ',' (choice text, or numeric values)."""
    answers = _answers(codes, instrument, labels=values == "text", join=",")
    tags = [m[0] for m in QUALTRICS_META] + [f"Q{k}" for k in range(1, answers.shape[1] + 1)]
    texts = [m[1] for m in QUALTRICS_META] + [instrument.item_map[c].label for c in answers]
    ids = [json.dumps({"ImportId": m[2]}) for m in QUALTRICS_META] + [
        json.dumps({"ImportId": f"QID{k}"}) for k in range(1, answers.shape[1] + 1)
    ]
    meta = [[QUALTRICS_VALUES.get(tag, "2024-05-01 10:00:00") if tag != "ResponseId" else rid
             for tag, _, _ in QUALTRICS_META] for rid in codes[ID]]  # fmt: skip
    body = [m + row for m, row in zip(meta, answers.to_numpy().tolist(), strict=True)]
    pd.DataFrame([texts, ids, *body], columns=tags).to_csv(path, index=False)


def surveymonkey(codes: pd.DataFrame, instrument: Instrument, path: Path) -> None:
    """Row 1 the question (once, over a multi-select's first option column), row 2
    'Response' or the option; metadata columns first with a blank second row."""
    labels = to_labels(codes, instrument).drop(columns=[ID])
    meta = ["Respondent ID", "Collector ID", "Start Date", "End Date", "IP Address",
            "Email Address", "First Name", "Last Name", "Custom Data 1"]  # fmt: skip
    top, second = list(meta), [""] * len(meta)
    columns: list[list[str]] = [
        codes[ID].tolist(), ["431000000"] * len(codes), ["05/01/2024 10:00:00 AM"] * len(codes),
        ["05/01/2024 10:09:00 AM"] * len(codes), [IP] * len(codes), [EMAIL] * len(codes),
        ["Asha"] * len(codes), ["Patel"] * len(codes), [""] * len(codes),
    ]  # fmt: skip
    for column in labels.columns:
        item = instrument.item_map[column]
        if column == MULTI:
            for k, choice in enumerate(instrument.choices(item)):
                top.append(item.label if k == 0 else "")
                second.append(choice.label)
                picked = codes[MULTI].str.split().map(lambda c, x=choice.code: x in c)
                columns.append(np.where(picked, choice.label, "").tolist())
        else:
            top.append(item.label)
            second.append("Response" if instrument.choices(item) else "Open-Ended Response")
            columns.append(labels[column].tolist())
    rows = [top, second, *map(list, zip(*columns, strict=True))]
    pd.DataFrame(rows).to_csv(path, index=False, header=False)


def microsoft_forms(codes: pd.DataFrame, instrument: Instrument, path: Path) -> None:
    """A workbook: ID, Start time, Completion time, Email, Name, then the questions;
    several choices joined by ';' with a trailing ';'."""
    answers = _answers(codes, instrument, labels=True, join=";")
    answers[MULTI] = answers[MULTI].map(lambda v: v + ";" if v else v)
    book = Workbook()
    sheet = book.active
    sheet.append(["ID", "Start time", "Completion time", "Email", "Name",
                  *(instrument.item_map[c].label for c in answers)])  # fmt: skip
    for k, row in enumerate(answers.itertuples(index=False), start=1):
        sheet.append([k, "5/1/24 10:00:00", "5/1/24 10:09:00", EMAIL, "Asha Patel", *row])
    book.save(path)


def smart_survey(codes: pd.DataFrame, instrument: Instrument, path: Path) -> None:
    """UserID, UserNo, Name, Email, IP Address, Unique ID, Started, Ended, then the
    questions; a multi-select as one column per option headed 'question:option'."""
    labels = to_labels(codes, instrument).drop(columns=[ID, MULTI])
    frame = pd.DataFrame({"UserID": codes[ID], "UserNo": range(1, len(codes) + 1),
                          "Name": "Asha Patel", "Email": EMAIL, "IP Address": IP, "Unique ID": "",
                          "Started": "01/05/2024 10:00", "Ended": "01/05/2024 10:09"})  # fmt: skip
    frame = pd.concat(
        [frame, labels.rename(columns=lambda c: instrument.item_map[c].label)], axis=1
    )
    item = instrument.item_map[MULTI]
    for choice in instrument.choices(item):
        picked = codes[MULTI].str.split().map(lambda c, x=choice.code: x in c)
        frame[f"{item.label}:{choice.label}"] = np.where(picked, choice.label, "")
    frame.to_csv(path, index=False)


def jisc(codes: pd.DataFrame, instrument: Instrument, path: Path) -> None:
    """Response ID, Started, Completed, then numbered questions ('3. question'); a
    multi-select as one column per option ('5.1 question - option', 1 when chosen)."""
    labels = to_labels(codes, instrument).drop(columns=[ID, MULTI])
    frame = pd.DataFrame({"Response ID": codes[ID], "Started": "2024-05-01 10:00:00",
                          "Completed": "2024-05-01 10:09:00"})  # fmt: skip
    numbered = {c: f"{k}. {instrument.item_map[c].label}" for k, c in enumerate(labels, start=1)}
    frame = pd.concat([frame, labels.rename(columns=numbered)], axis=1)
    item = instrument.item_map[MULTI]
    for k, choice in enumerate(instrument.choices(item), start=1):
        picked = codes[MULTI].str.split().map(lambda c, x=choice.code: x in c)
        frame[f"{len(numbered) + 1}.{k} {item.label} - {choice.label}"] = np.where(picked, "1", "")
    frame.to_csv(path, index=False)


def google_forms(codes: pd.DataFrame, instrument: Instrument, path: Path) -> None:
    """Timestamp first, Email Address, then the questions; no identifier; several choices
    joined by ', '."""
    answers = _answers(codes, instrument, labels=True, join=", ")
    stamps = pd.date_range("2024-05-01 09:00", periods=len(codes), freq="37s")
    frame = pd.DataFrame(
        {"Timestamp": stamps.strftime("%d/%m/%Y %H:%M:%S"), "Email Address": EMAIL}
    )
    frame = pd.concat(
        [frame, answers.rename(columns=lambda c: instrument.item_map[c].label)], axis=1
    )
    frame.to_csv(path, index=False)


SHAPES: dict[str, tuple[str, Callable[..., None]]] = {
    "qualtrics_choice_text": ("csv", lambda c, i, p: qualtrics(c, i, p, values="text")),
    "qualtrics_numeric_values": ("csv", lambda c, i, p: qualtrics(c, i, p, values="codes")),
    "surveymonkey": ("csv", surveymonkey),
    "microsoft_forms": ("xlsx", microsoft_forms),
    "smart_survey": ("csv", smart_survey),
    "jisc_online_surveys": ("csv", jisc),
    "google_forms": ("csv", google_forms),
}
PLATFORM_NAMES = {"qualtrics_choice_text": "Qualtrics", "qualtrics_numeric_values": "Qualtrics",
                  "surveymonkey": "SurveyMonkey", "microsoft_forms": "Microsoft Forms",
                  "smart_survey": "Smart Survey", "jisc_online_surveys": "JISC Online Surveys",
                  "google_forms": "Google Forms"}  # fmt: skip


@pytest.mark.parametrize("shape", list(SHAPES))
def test_platform_export_ingests_without_a_mapping(shape, culture, tmp_path):
    codes = culture_codes(culture, responses=120)
    suffix, write = SHAPES[shape]
    path = tmp_path / f"{shape}.{suffix}"
    write(codes, culture, path)
    space = init_workspace(tmp_path / "ws")
    issues = tmp_path / "issues.csv"
    out = ptw("ingest", path, "--survey", "culture", "--cycle", "2024", "-w", space.root,
              "--issues", issues)  # fmt: skip
    assert f"{len(codes)} accepted, 0 quarantined" in out, out
    found = pd.read_csv(issues, dtype=str)
    note = found[found["rule"] == "platform_export"]
    assert note["message"].str.contains(f"recognised as a {PLATFORM_NAMES[shape]} export").all()
    assert len(note) == 1
    with ResponseStore(space.store_path) as store:
        table = store.read_table("responses_culture").sort_values("source_row")
        everything = " ".join(store.read_table(t).to_csv() for t in store.tables())
    # every answer stored as drawn, the multi-select as its options
    assert table[MULTI].fillna("").tolist() == codes[MULTI].tolist()
    assert table["ethnicity"].tolist() == codes["ethnicity"].tolist()
    assert table["respondent"].nunique() == len(codes)
    for private in (EMAIL, IP, "Patel"):
        assert private not in everything


def test_qualtrics_comma_joined_choices_are_stored_as_options_and_the_rule_is_named(
    culture, tmp_path
):
    codes = culture_codes(culture, responses=120)
    path = tmp_path / "qualtrics.csv"
    qualtrics(codes, culture, path, values="text")
    cells = pd.read_csv(path, dtype=str, skiprows=[1, 2]).to_numpy().ravel().tolist()
    joined = to_labels(codes, culture, join=",")[MULTI]
    several = set(joined[joined.str.contains(",")])
    assert several and several <= set(cells)  # e.g. "Ethnic background,Disability"
    space = init_workspace(tmp_path / "ws")
    out = ptw("ingest", path, "--survey", "culture", "--cycle", "2024", "-w", space.root,
              "--issues", tmp_path / "issues.csv")  # fmt: skip
    assert "0 quarantined" in out
    issues = pd.read_csv(tmp_path / "issues.csv", dtype=str)
    rule = issues[issues["rule"] == "platform_separator"]
    assert rule["severity"].tolist() == ["info"]
    several = int((codes[MULTI].str.count(" ") > 0).sum())
    assert rule["message"].iloc[0].startswith(f"{several} row(s): several answers")


def test_google_forms_identifiers_are_made_from_timestamp_and_row(culture, tmp_path):
    codes = culture_codes(culture, responses=30)
    path = tmp_path / "google.csv"
    google_forms(codes, culture, path)
    space = init_workspace(tmp_path / "ws")
    ptw("ingest", path, "--survey", "culture", "--cycle", "2024", "-w", space.root,
        "--issues", tmp_path / "issues.csv")  # fmt: skip
    issues = pd.read_csv(tmp_path / "issues.csv", dtype=str)
    message = issues.loc[issues["rule"] == "platform_export", "message"].iloc[0]
    assert "writes no respondent identifier" in message
    assert "'Timestamp' and its source row" in message
    assert "metadata column(s) are not stored: Timestamp, Email Address" in message


def _lookup(labels: dict[str, str]) -> dict[str, str | None]:
    return {normalise(label): code for label, code in labels.items()}


def test_comma_split_keeps_labels_that_hold_commas_whole(instruments):
    ethnicity = instruments["culture"].accepted_answers("ethnicity")
    joined = "Caribbean,Any other Black, Black British, or Caribbean background,African"
    assert split_platform_joined(joined, ethnicity) == ["BCRB", "BOTH", "BAFR"]


def test_comma_split_prefers_the_longest_known_labels():
    lookup = _lookup({"Black": "B", "Black British": "BB", "Black, Black British": "BOTH"})
    assert split_platform_joined("Black, Black British", lookup) == ["BOTH"]


def test_comma_split_refuses_two_readings_of_equal_length():
    lookup = _lookup({"A, B": "AB", "B, C": "BC", "A": "A", "C": "C"})
    assert split_platform_joined("A, B, C", lookup) is _AMBIGUOUS
