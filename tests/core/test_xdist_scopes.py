"""The test schedule of ``make test`` (tests/xdist_scopes.py): shared-fixture folders stay on
one worker and the long scopes are handed out first."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from xdist_scopes import (
    LONG_SCOPES,
    SHARED_FIXTURE_FOLDERS,
    SharedFixtureScheduling,
    long_first,
    scope_of,
)

REPO = Path(__file__).resolve().parents[2]


class FakeWorker:
    """Records the collection indexes the scheduler sends it, as xdist's WorkerController."""

    def __init__(self, name: str) -> None:
        self.gateway = SimpleNamespace(id=name)
        self.shutting_down = False
        self.sent: list[int] = []

    def send_runtest_some(self, indexes: list[int]) -> None:
        self.sent.extend(indexes)

    def shutdown(self) -> None:
        self.shutting_down = True


def test_every_scope_named_exists() -> None:
    """A renamed folder or module must not silently drop out of the schedule."""
    for scope in (*SHARED_FIXTURE_FOLDERS, *LONG_SCOPES):
        assert (REPO / scope).exists(), scope


def test_a_shared_fixture_folder_is_one_scope_and_other_modules_keep_theirs() -> None:
    for module in ("test_reports_render.py", "test_report_numbers.py"):
        assert scope_of(f"tests/reports/{module}::test_x", f"tests/reports/{module}") == (
            "tests/reports/"
        )
    assert scope_of("tests/stats/test_api.py::test_x", "tests/stats/test_api.py") == (
        "tests/stats/test_api.py"
    )


def test_long_scopes_come_first_and_the_rest_keep_their_order() -> None:
    others = ["tests/stats/test_api.py", "tests/core/test_cli.py"]
    assert long_first([*others, *reversed(LONG_SCOPES)]) == [*LONG_SCOPES, *others]


def test_the_scheduler_sends_the_long_scopes_first_each_folder_to_one_worker() -> None:
    many = [f"tests/stats/test_api.py::test_{k}" for k in range(20)]  # most tests: xdist's first
    collection = [
        *many,
        "tests/render/test_render_builtin.py::test_a",
        "tests/reports/test_reports_render.py::test_a",
        "tests/reports/test_report_numbers.py::test_a",
        "tests/render/test_render_accessibility.py::test_a",
        "tests/test_end_to_end.py::test_a",
        "tests/test_end_to_end.py::test_b",
        "tests/test_end_to_end.py::test_c",
    ]
    # `-n 2 --dist loadscope` as xdist's scheduler reads it (its reordering left on)
    config = SimpleNamespace(getvalue={"tx": ["2*popen"]}.get,
                             option=SimpleNamespace(loadscopereorder=True))  # fmt: skip
    scheduler = SharedFixtureScheduling(config)
    workers = [FakeWorker("gw0"), FakeWorker("gw1")]
    for worker in workers:
        scheduler.add_node(worker)
        scheduler.add_node_collection(worker, collection)
    scheduler.schedule()
    fast = workers[1]  # finishes its tests one by one while gw0 runs the demo
    done = 0
    while done < len(fast.sent):
        scheduler.mark_test_complete(fast, fast.sent[done])
        done += 1
    assert not scheduler.workqueue
    first, second = ([collection[i] for i in w.sent] for w in workers)
    assert [t.split("::")[0] for t in first[:3]] == ["tests/test_end_to_end.py"] * 3
    assert [t.split("::")[0] for t in second[:2]] == [
        "tests/reports/test_reports_render.py",
        "tests/reports/test_report_numbers.py",
    ]
    render = {t for t in collection if t.startswith("tests/render/")}
    assert render <= set(first) or render <= set(second), "tests/render/ split over workers"
