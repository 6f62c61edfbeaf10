"""Run one step of the analysis in a second process while the caller does other work.

``ptw analyse`` has two independent halves before disclosure control: the survey comparisons
(one sweep per survey) and the over-time tables (trends, retention, training, recruitment).
Both are CPU-bound Python and NumPy, so threads would share one core under the GIL; a forked
worker runs the second half on the other core. Fork, not spawn: the worker starts from the
caller's memory (no re-import, no pickled arguments) and only the result is pickled back.

Where the platform has no ``fork`` (Windows), the step runs in the caller when its result is
asked for: the same numbers, one core.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Generic, TypeVar

T = TypeVar("T")

_pending: list[Callable[[], object]] = []


def _run_pending() -> object:
    """The forked worker's task: the step the parent left for it before forking."""
    return _pending[-1]()


class Background(Generic[T]):
    """A step started with :func:`start_in_background`; :meth:`result` waits for it.

    An exception raised by the step is raised again by :meth:`result`, with its own type and
    fields (they are pickled back from the worker).
    """

    def __init__(self, step: Callable[[], T]) -> None:
        self._step = step
        self._executor: ProcessPoolExecutor | None = None
        self._future: Future[T] | None = None
        if "fork" in multiprocessing.get_all_start_methods():
            self._executor = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork"))
            _pending.append(step)
            try:
                self._future = self._executor.submit(_run_pending)  # forks here, step in memory
            finally:
                _pending.remove(step)

    def result(self) -> T:
        """The step's return value (running it here if no worker could be forked)."""
        if self._future is None or self._executor is None:
            return self._step()
        try:
            return self._future.result()
        finally:
            self._executor.shutdown()


def start_in_background(step: Callable[[], T]) -> Background[T]:
    """Start ``step()`` in a forked worker process and return at once.

    Args:
        step: a call with no arguments (e.g. ``functools.partial(f, *args)``); it may close over
            any data, which the worker sees through fork, not through pickling. Its result must
            be picklable.

    Returns:
        :class:`Background`, whose ``result()`` returns what ``step()`` returned.
    """
    return Background(step)
