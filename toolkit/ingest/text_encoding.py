"""Text encodings of delimited files: detection, declared encodings, transcoding to UTF-8.

Order: a byte-order mark first (UTF-8, UTF-16, UTF-32), then strict UTF-8, then UTF-16
without a mark (NUL bytes at every other position), then charset-normalizer. Whenever
Windows-1252 is among the code pages the detector finds plausible, it is chosen: Excel on UK
Windows writes it, and the Central European cp1250 that the detector may rank first would
turn "£" into "Ł". A file in another code page (cp1251 Cyrillic, say) keeps the detector's
first choice.
"""

from __future__ import annotations

import codecs
from pathlib import Path

from toolkit.errors import IngestError
from toolkit.ingest.raw_export import read_error

_CHUNK_BYTES = 16 * 1024 * 1024
_DETECT_BYTES = 2 * 1024 * 1024
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def first_decode_error(raw: bytes, encoding: str) -> int | None:
    """Byte offset of the first byte ``encoding`` cannot decode, or ``None`` if all decode.

    Decodes in chunks so a large file never exists twice in memory.
    """
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    view = memoryview(raw)
    for start in range(0, len(raw), _CHUNK_BYTES):
        pending = len(decoder.getstate()[0])
        try:
            decoder.decode(
                view[start : start + _CHUNK_BYTES], final=start + _CHUNK_BYTES >= len(raw)
            )
        except UnicodeDecodeError as error:
            return start - pending + error.start
    return None


def _utf16_without_bom(sample: bytes) -> str | None:
    """``utf-16-le``/``-be`` when NUL bytes fill most odd/even positions (ASCII in UTF-16)."""
    if len(sample) < 4:
        return None
    odd_nuls = sample[1::2].count(0) / (len(sample) // 2)
    even_nuls = sample[0::2].count(0) / ((len(sample) + 1) // 2)
    if odd_nuls > 0.3 and even_nuls < 0.05:
        return "utf-16-le"
    if even_nuls > 0.3 and odd_nuls < 0.05:
        return "utf-16-be"
    return None


def _guess_code_page(raw: bytes, first_bad: int) -> str | None:
    """charset-normalizer's guess from the bytes around the first non-UTF-8 byte; cp1252
    whenever it is among the plausible code pages (module docstring)."""
    import charset_normalizer  # loaded only for a file that is not UTF-8

    low = max(0, first_bad - _DETECT_BYTES // 2)
    matches = charset_normalizer.from_bytes(raw[low : low + _DETECT_BYTES])
    if any("cp1252" in match.could_be_from_charset for match in matches):
        return "cp1252"
    best = matches.best()
    return None if best is None else codecs.lookup(best.encoding).name


def detect_encoding(raw: bytes) -> str | None:
    """The encoding of text bytes by the order in the module docstring, or ``None``."""
    for bom, name in _BOMS:
        if raw.startswith(bom):
            return name
    first_bad = first_decode_error(raw, "utf-8")
    if first_bad is None:
        return "utf-8"
    return _utf16_without_bom(raw[:4096]) or _guess_code_page(raw, first_bad)


def _line_of(raw: bytes, offset: int) -> int:
    """1-based line of a byte offset."""
    return raw.count(b"\n", 0, offset) + 1


def _declared_encoding(raw: bytes, declared: str, path: Path) -> str:
    """The codec name of a declared encoding that decodes every byte, else an error."""
    try:
        name = codecs.lookup(declared).name
    except LookupError as error:
        raise read_error(
            "read.wrong_encoding",
            f'"{declared}" is not a text encoding Python knows',
            path=path,
            value=declared,
            fix='leave the encoding out to detect it, or give one such as "utf-8" or "cp1252"',
        ) from error
    if name == "utf-8" and raw.startswith(codecs.BOM_UTF8):
        name = "utf-8-sig"
    bad = first_decode_error(raw, name)
    if bad is not None:
        raise read_error(
            "read.wrong_encoding",
            f"the file is not {declared}: byte {bad} (line {_line_of(raw, bad)}) cannot be decoded",
            path=path,
            line=_line_of(raw, bad),
            value=raw[bad : bad + 4],
            fix="leave the encoding out to detect it, or give the encoding the file was saved in",
            details={"byte_offset": bad},
        )
    return name


def _undecodable(path: Path, reason: str) -> IngestError:
    """The ``read.undecodable`` error with ``reason``."""
    return read_error(
        "read.undecodable",
        f"the file cannot be read as text: {reason}",
        path=path,
        expected="a CSV or TSV file saved as text (UTF-8 or Windows-1252)",
        fix="open the file in the program that made it and save it again as CSV",
    )


def decode_to_utf8(raw: bytes, *, declared: str | None, path: Path) -> tuple[str, bytes]:
    """``(encoding used, the text as UTF-8 bytes without a byte-order mark)``.

    Raises ``read.wrong_encoding`` when a declared encoding fails (naming the byte offset and
    line), ``read.undecodable`` when no encoding fits.
    """
    encoding = _declared_encoding(raw, declared, path) if declared else detect_encoding(raw)
    if encoding is None:
        raise _undecodable(path, "no text encoding fits its bytes")
    if encoding == "utf-8":
        utf8 = raw
    elif encoding == "utf-8-sig":
        utf8 = raw[len(codecs.BOM_UTF8) :]
    else:
        bad = first_decode_error(raw, encoding) if not declared else None
        if bad is not None:
            raise _undecodable(path, f"byte {bad} is not {encoding}")
        utf8 = raw.decode(encoding).encode("utf-8")
    return encoding, utf8


def utf8_at_first_sight(raw: bytes) -> bool:
    """No byte-order mark and the first 2 MiB decode as UTF-8: read on as UTF-8, letting the
    parser's own UTF-8 check cover the rest (a failure there brings full detection)."""
    if any(raw.startswith(bom) for bom, _ in _BOMS):
        return False
    try:
        codecs.getincrementaldecoder("utf-8")().decode(raw[:_DETECT_BYTES], final=False)
    except UnicodeDecodeError:
        return False
    return True


def refuse_binary(head: bytes, path: Path) -> None:
    """Raise ``read.undecodable`` when over 1% of the decoded head are control characters."""
    text = head.decode("utf-8", errors="replace")
    controls = sum(
        1 for char in text if (ord(char) < 32 and char not in "\t\n\r\f") or char == "\x7f"
    )
    if controls > 0.01 * len(text):
        raise _undecodable(path, "it holds control characters, so it looks like a binary file")
