"""Draw each report figure once: a content-addressed figure cache and parallel drawing.

Saving a plotnine chart (build, layout, two Agg passes for the tight bounding box) costs about
0.5 s of CPU per figure and was most of a report's render time (69% of the national report's
cell time). Two things cut it without changing a pixel:

- **Cache.** :func:`fingerprint` hashes everything the PNG depends on: a canonical walk of the
  chart object (its data frames by row hashes, aesthetics, layers and their parameters, scales,
  coordinates, facets and theme; functions by their code, constants and closures), the dpi, the
  chart library's source and the plotnine and matplotlib versions. Not walked: the chart's
  evaluation environment (the caller's variables), which the report charts never read because
  their aesthetics name columns only. A figure whose fingerprint is in the cache folder is
  copied from it, byte for byte what drawing it gives; every figure drawn is stored there. The
  same bundle therefore draws each chart once, whatever the format, report or later re-render.
- **Parallel drawing.** Inside a Jupyter kernel (the report engines run one), a figure not in
  the cache is drawn in a forked child process (copy-on-write: no pickling, no imports) while
  the report's code goes on, at most ``workers`` at a time. After each cell an IPython
  ``post_run_cell`` hook waits for the cell's figures, so every file exists before the
  notebook is converted; a drawing that failed makes that cell fail with the child's traceback.
  Elsewhere (plain Python, tests) and where ``os.fork`` does not exist, figures are drawn in
  the calling process.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import traceback
import types
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import plotnine
from plotnine import ggplot

from toolkit.report import charts
from toolkit.report.figure_cache import fetch, store

#: Object attributes not walked by :func:`fingerprint` (see the module docstring).
_SKIPPED_ATTRIBUTES = frozenset({"environment"})
_CODE_VERSION = hashlib.sha256(
    Path(charts.__file__).read_bytes()
    + f"plotnine {plotnine.__version__} matplotlib {matplotlib.__version__}".encode()
).hexdigest()


class FigureError(RuntimeError):
    """A figure drawn in a child process failed; the message carries its traceback."""


@dataclass
class _Drawing:
    """The figure settings of this process and the children drawing figures now."""

    cache: Path | None = None
    workers: int = 1
    children: dict[int, tuple[Path, Path]] = field(default_factory=dict)
    hooked: bool = False


_STATE = _Drawing()


def configure(*, cache: Path | str | None, workers: int | None = None) -> None:
    """Set the cache folder (``None``: no cache) and the most figures drawn at once (default:
    the available cores). Figures still being drawn are waited for first."""
    wait()
    _STATE.cache = Path(cache) if cache else None
    _STATE.workers = max(1, workers if workers else len(os.sched_getaffinity(0)))


def fingerprint(chart: ggplot, *, dpi: int) -> str:
    """SHA-256 (hex) of everything ``chart`` saved at ``dpi`` depends on (module docstring)."""
    digest = hashlib.sha256(f"{_CODE_VERSION}|dpi={dpi}|".encode())
    for token in _tokens(chart, {}):
        digest.update(token)
    return digest.hexdigest()


def save(chart: ggplot, path: Path | str, *, dpi: int) -> Path:
    """Write ``chart`` as a PNG at ``path`` (from the cache, or drawn; see the module docstring).

    Output: ``path``. In a kernel the file may be written after this returns, and is written
    by the end of the cell.

    Raises:
        Whatever plotnine raises for a bad chart, when drawn in this process.
    """
    path = Path(path)
    key = fingerprint(chart, dpi=dpi)
    cached = _STATE.cache / f"{key}.png" if _STATE.cache else None
    if cached is not None and fetch(cached, path):
        return path
    shell = _kernel_shell()
    if shell is None or _STATE.workers < 2 or not hasattr(os, "fork"):
        _draw(chart, path, dpi=dpi, cached=cached)
        return path
    if not _STATE.hooked:
        shell.events.register("post_run_cell", _after_cell)
        _STATE.hooked = True
    while len(_STATE.children) >= _STATE.workers:
        _reap(next(iter(_STATE.children)))
    _fork_draw(chart, path, dpi=dpi, cached=cached)
    return path


def wait() -> None:
    """Wait for every figure being drawn.

    Raises:
        FigureError: a child failed (all children are waited for first).
    """
    failures = []
    while _STATE.children:
        try:
            _reap(next(iter(_STATE.children)))
        except FigureError as error:
            failures.append(str(error))
    if failures:
        raise FigureError("\n\n".join(failures))


def _draw(chart: ggplot, path: Path, *, dpi: int, cached: Path | None) -> None:
    """Draw ``chart`` into ``path`` (through a temporary file: never a half-written PNG) and
    store a copy at ``cached``."""
    drawn = path.with_name(f".{path.stem}.{os.getpid()}.png")
    chart.save(drawn, dpi=dpi, verbose=False)
    if cached is not None:
        store(drawn, cached)
    os.replace(drawn, path)


def _fork_draw(chart: ggplot, path: Path, *, dpi: int, cached: Path | None) -> None:
    errors = Path(tempfile.mkstemp(prefix="ptw-figure-", suffix=".log")[1])
    pid = os.fork()
    if pid == 0:  # the child: draw, report, exit without running the kernel's exit handlers
        status = 1
        try:
            sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115 (the child exits)
            _draw(chart, path, dpi=dpi, cached=cached)
            status = 0
        except BaseException:  # any failure is reported to the parent
            errors.write_text(traceback.format_exc(), encoding="utf-8")
        finally:
            os._exit(status)
    _STATE.children[pid] = (path, errors)


def _reap(pid: int) -> None:
    path, errors = _STATE.children.pop(pid)
    _, status = os.waitpid(pid, 0)
    message = errors.read_text(encoding="utf-8") if errors.exists() else ""
    errors.unlink(missing_ok=True)
    if os.waitstatus_to_exitcode(status) != 0 or not path.is_file():
        raise FigureError(f"drawing {path} failed:\n{message or 'the drawing process died'}")


def _after_cell(result: object) -> None:
    """IPython ``post_run_cell`` hook: wait for the cell's figures; a failure fails the cell."""
    try:
        wait()
    except FigureError as error:
        shell = _kernel_shell()
        if shell is not None:
            shell.showtraceback((type(error), error, error.__traceback__))
        if getattr(result, "error_in_exec", None) is None:
            result.error_in_exec = error  # type: ignore[attr-defined]


def _kernel_shell() -> object | None:
    """The running IPython kernel shell, or ``None`` outside a kernel (IPython not imported)."""
    if "ipykernel" not in sys.modules:
        return None
    from IPython import get_ipython

    shell = get_ipython()
    return shell if shell is not None and hasattr(shell, "events") else None


#: Objects already walked: id -> (order of first visit, the object).
_Seen = dict[int, tuple[int, object]]


def _tokens(value: object, seen: _Seen) -> Iterator[bytes]:
    """A canonical, process-independent byte stream for ``value`` (no ids, no hash order);
    an object met again is written as a reference to its first visit."""
    if value is None or isinstance(value, bool | int | float | complex | str | bytes):
        yield f"{type(value).__name__}:{value!r};".encode()
        return
    if id(value) in seen:  # walked already: a back-reference, so shared parts count once
        yield f"<ref {seen[id(value)][0]}>;".encode()
        return
    seen[id(value)] = (len(seen), value)  # the value is kept alive: its id is not reused
    if isinstance(value, pd.DataFrame):
        yield from _frame_tokens(value, seen)
    elif isinstance(value, pd.Series | pd.Index):
        yield from _frame_tokens(value.to_frame(), seen)
    elif isinstance(value, np.ndarray):
        if value.dtype == object:
            yield from _tokens(value.tolist(), seen)
        else:
            yield f"ndarray:{value.dtype.str}:{value.shape};".encode() + value.tobytes()
    elif isinstance(value, np.generic):
        yield from _tokens(value.item(), seen)
    elif isinstance(value, dict):
        yield f"{type(value).__qualname__}{{".encode()
        for key in sorted(value, key=repr):
            yield from _tokens(key, seen)
            yield from _tokens(value[key], seen)
        yield b"}"
    elif isinstance(value, list | tuple):
        yield f"{type(value).__qualname__}[".encode()
        for item in value:
            yield from _tokens(item, seen)
        yield b"]"
    elif isinstance(value, set | frozenset):
        yield b"set" + b"".join(sorted(b"".join(_tokens(item, dict(seen))) for item in value))
    elif isinstance(value, types.FunctionType):
        yield from _function_tokens(value, seen)
    elif isinstance(value, types.CodeType):
        yield value.co_code
        yield from _tokens(list(value.co_consts), seen)
        yield from _tokens(value.co_names, seen)
    elif isinstance(value, type | types.ModuleType | types.BuiltinFunctionType):
        yield f"named:{getattr(value, '__module__', '')}.{value.__name__};".encode()
    else:
        yield from _object_tokens(value, seen)


def _frame_tokens(frame: pd.DataFrame, seen: _Seen) -> Iterator[bytes]:
    """Columns by name (a chart reads columns by name; plotnine builds some frames from sets,
    so their column order varies between processes) with their dtypes, then pandas' row hashes
    of index and values (fixed-key SipHash, the same in every process); a frame pandas cannot
    hash (lists in cells) value by value."""
    order = sorted(range(frame.shape[1]), key=lambda i: str(frame.columns[i]))
    columns = frame.iloc[:, order]
    yield f"frame:{[str(c) for c in columns.columns]}:{[repr(t) for t in columns.dtypes]};".encode()
    try:
        yield pd.util.hash_pandas_object(columns, index=True).to_numpy().tobytes()
    except TypeError:
        yield from _tokens(frame.index.tolist(), seen)
        for position in order:
            yield from _tokens(frame.iloc[:, position].tolist(), seen)


def _function_tokens(function: types.FunctionType, seen: _Seen) -> Iterator[bytes]:
    yield f"function:{function.__module__}.{function.__qualname__};".encode()
    yield from _tokens(function.__code__, seen)
    yield from _tokens(function.__defaults__, seen)
    cells = function.__closure__ or ()
    yield from _tokens([cell.cell_contents for cell in cells], seen)


def _slots(kind: type) -> list[str]:
    """The ``__slots__`` names of ``kind`` and its bases."""
    names: list[str] = []
    for base in kind.__mro__:
        slots = base.__dict__.get("__slots__", ())
        names.extend([slots] if isinstance(slots, str) else slots)
    return names


def _object_tokens(value: object, seen: _Seen) -> Iterator[bytes]:
    kind = type(value)
    yield f"object:{kind.__module__}.{kind.__qualname__}(".encode()
    attributes = dict(getattr(value, "__dict__", {}))
    for slot in _slots(kind):
        if hasattr(value, slot):
            attributes.setdefault(slot, getattr(value, slot))
    if not attributes:
        text = repr(value)
        yield (text if " at 0x" not in text else "").encode()
    for name in sorted(attributes):
        if name not in _SKIPPED_ATTRIBUTES:
            yield name.encode() + b"="
            yield from _tokens(attributes[name], seen)
    yield b")"
