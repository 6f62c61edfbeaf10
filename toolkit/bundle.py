"""Results bundles: the only thing reports read (DESIGN.md decision 3).

A bundle is a folder of Parquet tables plus ``manifest.json`` (plan, instrument versions,
batches used, parameters, toolkit version, data time). Writing is deterministic: rows are
sorted, no index is stored, and the manifest holds no wall-clock time, so the same inputs
give byte-identical files.

Integrity: the manifest records the SHA-256 digest of every table file (``digests``).
:func:`read_bundle` checks every file against its digest and the manifest for the fields a
reader relies on; an edited or truncated table, a missing file or a broken manifest is a
:class:`PtwError` naming the file, never a traceback.

The audit seal (``manifest["audit"]``): written by ``ptw analyse`` only after the analysis's
disclosure audit passed, it is an HMAC-SHA256, keyed by a key derived from the workspace's
secret, over the table digests, the rest of the manifest, the threshold audited and the
toolkit version. It means "this exact bundle passed the disclosure audit at this threshold".
:func:`verify_seal` and :func:`check_release` are the gate before anything is published: the
seal must verify with the workspace's key and its threshold must be at least the workspace's.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from toolkit import __version__
from toolkit.errors import PtwError

MANIFEST = "manifest.json"
AUDIT = "audit"
"""The manifest field holding the audit seal: ``threshold``, ``toolkit_version``, ``seal``."""
_SEAL_CONTEXT = b"ptw results bundle audit seal v1"
_REANALYSE = "re-run `ptw analyse` in this workspace to write the bundle again; never edit a bundle"


@dataclass
class Bundle:
    """Tables by name and the manifest describing how they were made."""

    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    manifest: dict[str, object] = field(default_factory=dict)

    def table(self, name: str) -> pd.DataFrame:
        """Table ``name`` (an empty DataFrame if the bundle has none)."""
        return self.tables.get(name, pd.DataFrame())


def write_bundle(
    bundle: Bundle,
    folder: Path,
    *,
    key: bytes | None = None,
    audited_threshold: int | None = None,
) -> Path:
    """Write ``bundle`` to ``folder`` (replacing what was there) and return the folder.

    Args:
        key: the workspace secret. With ``audited_threshold``, the manifest carries the audit
            seal; pass them only after the bundle's disclosure audit passed at that threshold.
        audited_threshold: the threshold at which the disclosure audit passed.
    """
    if (key is None) != (audited_threshold is None):
        raise ValueError("an audit seal needs both the key and the audited threshold")
    staging = folder.with_name(folder.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    digests = {}
    for name, frame in sorted(bundle.tables.items()):
        table = pa.Table.from_pandas(frame.reset_index(drop=True), preserve_index=False)
        pq.write_table(table, staging / f"{name}.parquet", compression="zstd")
        digests[name] = hashlib.sha256((staging / f"{name}.parquet").read_bytes()).hexdigest()
    manifest = {**bundle.manifest, "tables": sorted(bundle.tables), "digests": digests}
    manifest.pop(AUDIT, None)
    # what a reader will parse back (values JSON cannot hold become text), so the seal matches
    manifest = json.loads(json.dumps(manifest, default=str))
    if key is not None and audited_threshold is not None:
        manifest[AUDIT] = {"threshold": audited_threshold, "toolkit_version": __version__}
        manifest[AUDIT]["seal"] = _seal(key, manifest)
    (staging / MANIFEST).write_text(
        json.dumps(manifest, indent=2, sort_keys=True), encoding="utf-8"
    )
    shutil.rmtree(folder, ignore_errors=True)
    staging.rename(folder)
    return folder


def read_bundle(folder: Path, tables: Mapping[str, object] | None = None) -> Bundle:
    """Read a bundle written by :func:`write_bundle` (all tables, or those named).

    Every table file the manifest lists is checked against its digest, whichever are read;
    each table read is parsed from the same bytes that were checked.

    Raises:
        PtwError: ``bundle.missing`` (no manifest), ``bundle.broken`` (manifest unreadable or
            lacking fields, a file missing or not Parquet), ``bundle.tampered`` (a file's digest
            does not match the manifest), each naming the file.
    """
    manifest = read_manifest(folder)
    digests: dict[str, str] = manifest["digests"]  # type: ignore[assignment]
    contents = {name: _checked_bytes(folder, name, digests[name]) for name in sorted(digests)}
    names = list(tables) if tables else list(digests)
    for name in names:
        if name not in contents:
            raise _broken(folder / f"{name}.parquet", f"the bundle has no table '{name}'")
    return Bundle(tables={name: _parse(folder, name, contents[name]) for name in names},
                  manifest=manifest)  # fmt: skip


def read_manifest(folder: Path) -> dict[str, object]:
    """The bundle's manifest, checked for the fields readers rely on (``tables``, ``digests``
    naming the same tables, ``suppression``); table files are not checked here.

    Raises:
        PtwError: ``bundle.missing`` or ``bundle.broken``, naming ``manifest.json``.
    """
    path = folder / MANIFEST
    if not path.exists():
        raise PtwError(code="bundle.missing", message="no results bundle here", file=str(folder),
                       fix="run `ptw analyse` first")  # fmt: skip
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise _broken(path, f"manifest.json is not readable JSON ({error})") from error
    if not isinstance(manifest, dict):
        raise _broken(path, "manifest.json does not hold a JSON object")
    tables, digests = manifest.get("tables"), manifest.get("digests")
    if not isinstance(tables, list) or not isinstance(digests, dict):
        raise _broken(path, "manifest.json lists no tables or no table digests (written by an "
                      "older ptw, or edited)")  # fmt: skip
    if sorted(map(str, tables)) != sorted(digests) or not all(
        isinstance(value, str) for value in digests.values()
    ):
        raise _broken(path, "manifest.json's table list and table digests disagree")
    if not isinstance(manifest.get("suppression"), dict):
        raise _broken(path, "manifest.json has no suppression settings")
    return manifest


def check_release(folder: Path, *, key: bytes | None, threshold: int) -> dict[str, object]:
    """The gate before anything is published from the bundle in ``folder``: every file matches
    its digest and the audit seal verifies (:func:`verify_seal`). Tables are not parsed.

    Returns:
        The verified manifest.

    Raises:
        PtwError: as :func:`read_manifest` and :func:`verify_seal`; ``bundle.tampered`` or
            ``bundle.broken`` for a table file.
    """
    manifest = read_manifest(folder)
    for name, digest in sorted(manifest["digests"].items()):  # type: ignore[union-attr]
        _checked_bytes(folder, name, digest)
    verify_seal(manifest, key=key, threshold=threshold, where=folder)
    return manifest


def verify_seal(
    manifest: Mapping[str, object], *, key: bytes | None, threshold: int, where: Path
) -> None:
    """Raise unless ``manifest`` (whose table digests the caller has checked) carries an audit
    seal made with ``key`` at a threshold of at least ``threshold`` (the workspace's).

    A verified seal means the bundle's disclosure audit passed at the sealed threshold when
    ``ptw analyse`` wrote it, and that neither a table nor the manifest changed since.

    Raises:
        PtwError: ``bundle.unsealed`` (no seal, no key, or a seal that does not verify: another
            workspace's key, an edited manifest) or ``bundle.threshold_below_workspace``.
    """
    if key is None or not _seal_verifies(manifest, key):
        raise PtwError(
            code="bundle.unsealed",
            message="the results bundle carries no audit seal that this workspace's key verifies "
            "(it was written by another workspace or an older ptw, or its manifest was edited), "
            "so nothing shows it passed the disclosure audit",
            file=str(where / MANIFEST),
            fix=_REANALYSE,
        )
    analysed = manifest[AUDIT]["threshold"]  # type: ignore[index]
    if analysed < threshold:
        raise PtwError(
            code="bundle.threshold_below_workspace",
            message=f"the results bundle was analysed with a threshold of {analysed}, below this "
            f"workspace's {threshold} (ptw.toml [suppression] threshold)",
            file=str(where / MANIFEST),
            value=analysed,
            expected=f"a bundle analysed with a threshold of at least {threshold}",
            fix=f"run `ptw analyse` again without --threshold (or with --threshold {threshold} "
            "or more)",
        )


def _seal_verifies(manifest: Mapping[str, object], key: bytes) -> bool:
    audit = manifest.get(AUDIT)
    if not isinstance(audit, dict) or not isinstance(audit.get("threshold"), int):
        return False
    return hmac.compare_digest(str(audit.get("seal")), _seal(key, manifest))


def _seal(key: bytes, manifest: Mapping[str, object]) -> str:
    """HMAC-SHA256 of the table digests, the rest of the manifest, the audited threshold and the
    toolkit version, keyed by HMAC(``key``, a fixed context) so the pseudonymisation key itself
    never signs anything."""
    audit = manifest[AUDIT]
    rest = {name: value for name, value in manifest.items() if name != AUDIT}
    message = json.dumps(
        {
            "digests": rest.get("digests"),
            "manifest": hashlib.sha256(_canonical(rest)).hexdigest(),
            "threshold": audit["threshold"],  # type: ignore[index]
            "toolkit_version": audit.get("toolkit_version"),  # type: ignore[union-attr]
        },
        sort_keys=True,
    )
    derived = hmac.new(key, _SEAL_CONTEXT, hashlib.sha256).digest()
    return hmac.new(derived, message.encode("utf-8"), hashlib.sha256).hexdigest()


def _canonical(value: object) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode("utf-8")


def _broken(path: Path, problem: str, code: str = "bundle.broken") -> PtwError:
    return PtwError(code=code, message=f"the results bundle cannot be trusted: {problem}",
                    file=str(path), fix=_REANALYSE)  # fmt: skip


def _checked_bytes(folder: Path, name: str, digest: str) -> bytes:
    """The bytes of table ``name``'s file, after checking them against ``digest``."""
    path = folder / f"{name}.parquet"
    try:
        data = path.read_bytes()
    except FileNotFoundError as error:
        raise _broken(path, f"table '{name}' is missing") from error
    except OSError as error:
        raise _broken(path, f"table '{name}' cannot be read ({error})") from error
    if hashlib.sha256(data).hexdigest() != digest:
        raise _broken(path, f"table '{name}' was changed after `ptw analyse` wrote it "
                      "(edited, truncated or replaced: its SHA-256 digest does not match the "
                      "manifest)", "bundle.tampered")  # fmt: skip
    return data


def _parse(folder: Path, name: str, data: bytes) -> pd.DataFrame:
    try:
        return pq.read_table(pa.BufferReader(data)).to_pandas()
    except (OSError, pa.ArrowException) as error:
        raise _broken(
            folder / f"{name}.parquet", f"table '{name}' is not a readable Parquet file ({error})"
        ) from error
