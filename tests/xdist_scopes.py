"""How ``pytest -n 2 --dist loadscope`` (``make test``) hands test modules to its workers.

xdist's loadscope makes each module a scope, runs a scope on one worker and hands scopes out
most-tests-first. Two changes, both about the few expensive fixtures:

- Folders whose conftest builds an expensive session fixture that several of their modules
  read (:data:`SHARED_FIXTURE_FOLDERS`) are one scope each. A session fixture is built once
  per worker that runs a module using it; one scope per folder keeps the folder on one worker,
  so its fixture is built once a run.
- The long scopes (:data:`LONG_SCOPES`) are handed out first, longest first. Most-tests-first
  sends these few-test, long modules last, so one worker was still running them long after the
  other had finished. Every other scope follows in xdist's order.

The hook in ``tests/conftest.py`` installs :class:`SharedFixtureScheduling` for loadscope only.
"""

from __future__ import annotations

from xdist.scheduler import LoadScopeScheduling
from xdist.workermanage import WorkerController

#: Folders (node id prefixes) scheduled as one scope: tests/reports/conftest.py renders every
#: report once (``rendered``); tests/render/conftest.py renders the fixture template once.
SHARED_FIXTURE_FOLDERS = ("tests/reports/", "tests/render/")

#: Scopes handed out first, in this order: longest first. Wall seconds of each alone
#: (``pytest --durations=0``, niced, on the 2-core machine at load average 2.4-4.7, 1 December
#: 2026): tests/test_end_to_end.py 747 s (the demo 316 s, three re-analyses 93-197 s each);
#: the three modules of tests/reports/ that read the rendered reports 213 s (the render 118 s);
#: tests/test_analysis.py 114 s. ``--durations=25`` in every run's output shows when to revise.
LONG_SCOPES = (
    "tests/test_end_to_end.py",
    "tests/reports/",
    "tests/test_analysis.py",
)


def scope_of(nodeid: str, module_scope: str) -> str:
    """The scope of the test ``nodeid``: its folder in :data:`SHARED_FIXTURE_FOLDERS`, else
    ``module_scope`` (xdist's own scope: the module, or the class)."""
    return next((f for f in SHARED_FIXTURE_FOLDERS if nodeid.startswith(f)), module_scope)


def long_first(scopes: list[str]) -> list[str]:
    """``scopes`` with :data:`LONG_SCOPES` first, in their order, then the others as given."""
    rank = {scope: k for k, scope in enumerate(LONG_SCOPES)}
    return sorted(scopes, key=lambda scope: rank.get(scope, len(rank)))


class SharedFixtureScheduling(LoadScopeScheduling):
    """xdist's loadscope with :func:`scope_of` scopes, handed out in :func:`long_first` order."""

    def _split_scope(self, nodeid: str) -> str:
        return scope_of(nodeid, super()._split_scope(nodeid))

    def _assign_work_unit(self, node: WorkerController) -> None:
        # xdist fills the whole queue, then assigns the first units: reorder once, before that.
        if not getattr(self, "_ordered", False):
            self._ordered = True
            units = dict(self.workqueue)
            self.workqueue.clear()
            self.workqueue.update((scope, units[scope]) for scope in long_first(list(units)))
        super()._assign_work_unit(node)
