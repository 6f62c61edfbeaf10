"""The pseudonym of an identifier: BLAKE2b keyed with the workspace key, 16-byte digest."""

from __future__ import annotations

from hashlib import blake2b

import pandas as pd

from toolkit.ingest.pipeline import PSEUDONYM_MARK, pseudonymise

SECRET = bytes(range(64)) + b"beyond the first 64 bytes"


def test_pseudonym_is_keyed_blake2b_of_the_stripped_identifier() -> None:
    ids = pd.Series([" R001 ", "R002", "R001", None, "   "], dtype="string")
    expected = [
        blake2b(text.encode(), key=SECRET[:64], digest_size=16).hexdigest()
        for text in ("R001", "R002")
    ]
    got = pseudonymise(ids, SECRET).tolist()
    assert got[:3] == [expected[0], expected[1], expected[0]]
    assert pd.isna(got[3]) and pd.isna(got[4])


def test_marked_pseudonym_is_kept_only_when_asked() -> None:
    digest = "0123456789abcdef" * 2
    ids = pd.Series([PSEUDONYM_MARK + digest], dtype="string")
    assert pseudonymise(ids, SECRET, marked=True).tolist() == [digest]
    hashed = blake2b((PSEUDONYM_MARK + digest).encode(), key=SECRET[:64], digest_size=16)
    assert pseudonymise(ids, SECRET).tolist() == [hashed.hexdigest()]
