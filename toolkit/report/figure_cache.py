"""The figure cache folder: PNGs named by their chart's fingerprint (``toolkit.report.figures``).

Light on purpose (no plotting imports): ``ptw report`` prunes the cache before it starts the
report kernels. Every operation is safe with several renders sharing the folder: entries are
written to a temporary file and renamed into place, and a cache that cannot be read or written
only costs time (the figure is drawn).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

#: Entries not used for this many days are removed by :func:`prune_cache`.
CACHE_DAYS = 14


def fetch(cached: Path, path: Path) -> bool:
    """Copy the entry ``cached`` to ``path`` and mark it used; False when there is none."""
    try:
        shutil.copyfile(cached, path)
        os.utime(cached)
    except OSError:
        return False
    return True


def store(drawn: Path, cached: Path) -> None:
    """Copy ``drawn`` into the cache as ``cached``, atomically; skipped when the folder cannot
    be written."""
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=cached.parent, suffix=".part", delete=False) as out:
            out.write(drawn.read_bytes())
        os.replace(out.name, cached)
    except OSError:
        return


def prune_cache(folder: Path, *, days: float = CACHE_DAYS) -> int:
    """Remove the entries in ``folder`` not used for ``days`` days; return how many."""
    if not folder.is_dir():
        return 0
    cutoff = time.time() - days * 86400
    stale = [path for path in folder.glob("*.png") if path.stat().st_mtime < cutoff]
    for path in stale:
        path.unlink(missing_ok=True)
    return len(stale)
