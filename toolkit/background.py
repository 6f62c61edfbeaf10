"""Run a step in a second process while the caller does other work, optionally with a deadline.

Two users, both CPU-bound Python and NumPy that threads would run on one core under the GIL:
``ptw analyse`` runs the over-time tables (trends, retention, training, recruitment) beside the
survey comparisons, and the release gate runs its interior-point solves (which can fail to
return, ``toolkit.disclosure.audit``) where they can be stopped. Fork, not spawn: the worker
starts from the caller's memory (no re-import, no pickled arguments) and only the result comes
back, pickled through a pipe. The worker is a daemon process: if the caller fails or exits
first, the worker is stopped with it, never waited for.

Where the platform has no ``fork`` (Windows), the step runs in the caller when its result is
asked for: the same numbers, one core, and no deadline.
"""

from __future__ import annotations

import multiprocessing
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Generic, TypeVar

T = TypeVar("T")

FORKS = "fork" in multiprocessing.get_all_start_methods()
"""Whether steps run in a worker process here (else in the caller, without a deadline)."""


def _run(step: Callable[[], object], sending: Connection) -> None:
    """The worker: send ``(True, result)`` or ``(False, exception)`` (the exception carries the
    worker's traceback as a note)."""
    try:
        reply: tuple[bool, object] = (True, step())
    except BaseException as error:  # every failure goes back to the caller
        error.add_note("In the background worker:\n" + traceback.format_exc())
        reply = (False, error)
    try:
        sending.send(reply)
    except Exception:  # a result or error that cannot be pickled: say so, never go silent
        sending.send((False, RuntimeError("the background step's reply could not be sent back:\n"
                                          + traceback.format_exc())))  # fmt: skip
    sending.close()


class Background(Generic[T]):
    """A step started with :func:`start_in_background`; :meth:`result` waits for it.

    An exception raised by the step is raised again by :meth:`result`, with its own type and
    fields (they are pickled back from the worker).
    """

    def __init__(self, step: Callable[[], T]) -> None:
        self._step = step
        self._worker: multiprocessing.process.BaseProcess | None = None
        self._receiving: Connection | None = None
        if FORKS:
            fork = multiprocessing.get_context("fork")
            self._receiving, sending = fork.Pipe(duplex=False)
            self._worker = fork.Process(target=_run, args=(step, sending), daemon=True)
            self._worker.start()  # forks here: the step is in the worker's memory
            sending.close()

    def result(self, timeout: float | None = None) -> T:
        """The step's return value (running it here if no worker could be forked).

        Raises:
            TimeoutError: the worker sent nothing within ``timeout`` seconds; it is stopped.
        """
        if self._worker is None or self._receiving is None:
            return self._step()
        try:
            if not self._receiving.poll(timeout):
                raise TimeoutError(f"the background step gave no result within {timeout} s")
            ok, value = self._receiving.recv()
        finally:
            self.stop()
        if not ok:
            raise value  # type: ignore[misc]
        return value  # type: ignore[no-any-return]

    def stop(self) -> None:
        """Stop the worker if it is still running (its result is then lost); idempotent."""
        if self._worker is not None and self._receiving is not None:
            self._worker.kill()
            self._worker.join()
            self._receiving.close()

    def __enter__(self) -> Background[T]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Leaving the ``with`` block stops a worker whose result was never asked for (the
        caller failed before it needed it), instead of leaving it to finish unseen."""
        self.stop()


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
