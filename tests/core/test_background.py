"""A step started in the background runs in another process and returns exactly what it would
have returned here; its errors come back whole (ptw's errors are dataclasses, which plain
exception pickling would lose); a step past its deadline is stopped."""

from __future__ import annotations

import multiprocessing
import os
import threading

import numpy as np
import pandas as pd
import pytest

from toolkit.background import start_in_background
from toolkit.errors import DisclosureError

FORK = "fork" in multiprocessing.get_all_start_methods()


def test_the_step_runs_in_a_forked_worker_and_sees_unpicklable_data() -> None:
    lock = threading.Lock()  # cannot be pickled: the worker must see it through fork
    frame = pd.DataFrame({"x": np.arange(1000.0)})

    def step() -> tuple[int, float, bool]:
        return os.getpid(), float(frame["x"].sum()), lock.locked()

    pid, total, locked = start_in_background(step).result()

    assert total == 499500.0
    assert not locked
    assert (pid != os.getpid()) == FORK


def test_a_ptw_error_in_the_worker_is_raised_again_with_every_field() -> None:
    error = DisclosureError(code="disclosure.recoverable", message="cell 3 is pinned", row=7,
                            column="n", value=3, expected="a range of 10", fix="suppress more",
                            details={"table": "comparisons"})  # fmt: skip

    def step() -> None:
        raise error

    with pytest.raises(DisclosureError) as raised:
        start_in_background(step).result()

    assert raised.value == error
    assert str(raised.value) == str(error)


def test_two_steps_in_the_background_at_once_each_return_their_own_result() -> None:
    first = start_in_background(lambda: "first")
    second = start_in_background(lambda: "second")

    assert (second.result(), first.result()) == ("second", "first")


@pytest.mark.skipif(not FORK, reason="a deadline needs a worker process (fork)")
def test_a_step_past_its_deadline_raises_and_its_worker_is_stopped() -> None:
    running = start_in_background(lambda: threading.Event().wait())  # never returns

    with pytest.raises(TimeoutError, match=r"within 0\.5 s"):
        running.result(timeout=0.5)

    assert running._worker is not None and not running._worker.is_alive()


@pytest.mark.skipif(not FORK, reason="without fork nothing is sent back")
def test_a_result_that_cannot_be_sent_back_is_an_error_not_a_hang() -> None:
    with pytest.raises(RuntimeError, match="could not be sent back"):
        start_in_background(threading.Lock).result()


@pytest.mark.skipif(not FORK, reason="only a worker process can be left running")
def test_a_caller_that_fails_before_asking_stops_the_worker_when_it_leaves_the_block() -> None:
    running = start_in_background(lambda: threading.Event().wait())
    with pytest.raises(ValueError, match="the caller failed"), running:
        assert running._worker is not None and running._worker.is_alive()
        raise ValueError("the caller failed")

    assert running._worker is not None and not running._worker.is_alive()


def test_leaving_the_block_after_the_result_was_taken_is_harmless() -> None:
    with start_in_background(lambda: 41 + 1) as running:
        assert running.result() == 42
    running.stop()
