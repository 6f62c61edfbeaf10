"""The figure cache and parallel drawing (``toolkit.report.figures``): a figure is the same
PNG whether drawn here, drawn in a kernel's child process or copied from the cache, and the
cache key changes with anything the picture depends on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from toolkit.report import charts, figures
from toolkit.report.figure_cache import prune_cache

ROOT = Path(__file__).resolve().parents[2]


#: Comparison rows for a forest plot; run here and, as source, in other processes.
COMPARISONS = """
import pandas as pd

def comparisons(ratio=1.4):
    return pd.DataFrame({
        "group": ["Asian", "Black", "Mixed"], "dimension": "ethnicity", "is_reference": False,
        "rel_likelihood": [ratio, 0.7, 1.1], "rl_ci_low": [1.1, 0.5, 0.9],
        "rl_ci_high": [1.8, 0.95, 1.3], "outside_band": [False, True, False],
        "suppressed": False,
    })
"""
_namespace: dict[str, object] = {}
exec(COMPARISONS, _namespace)
_comparisons = _namespace["comparisons"]


def test_fingerprint_follows_what_the_picture_depends_on():
    key = figures.fingerprint(charts.forest_plot(_comparisons(), title="A"), dpi=150)
    assert figures.fingerprint(charts.forest_plot(_comparisons(), title="A"), dpi=150) == key
    assert figures.fingerprint(charts.forest_plot(_comparisons(), title="B"), dpi=150) != key
    assert figures.fingerprint(charts.forest_plot(_comparisons(1.41), title="A"), dpi=150) != key
    assert figures.fingerprint(charts.forest_plot(_comparisons(), title="A"), dpi=100) != key
    narrow = charts.forest_plot(_comparisons(), title="A", band=(0.9, 1.1))
    assert figures.fingerprint(narrow, dpi=150) != key


def test_fingerprint_is_the_same_in_another_process_with_another_hash_seed():
    keys = set()
    for seed in ("1", "2"):
        environment = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT)}
        code = (
            f"{COMPARISONS}\nfrom toolkit.report import charts, figures\n"
            "print(figures.fingerprint(charts.forest_plot(comparisons(), title='A'), dpi=150))"
        )
        completed = subprocess.run([sys.executable, "-c", code],
                                   capture_output=True, text=True, check=True, cwd=ROOT,
                                   env=environment)  # fmt: skip
        keys.add(completed.stdout.strip())
    assert keys == {figures.fingerprint(charts.forest_plot(_comparisons(), title="A"), dpi=150)}


def test_cached_figure_is_copied_not_drawn_and_equals_a_plain_save(tmp_path):
    plain = tmp_path / "plain.png"
    charts.forest_plot(_comparisons(), title="A").save(plain, dpi=150, verbose=False)
    chart = charts.forest_plot(_comparisons(), title="A")
    key = figures.fingerprint(chart, dpi=150)
    cache = tmp_path / "cache"
    figures.configure(cache=cache, workers=1)
    try:
        first = figures.save(chart, tmp_path / "first.png", dpi=150)
        assert first.read_bytes() == plain.read_bytes()
        (entry,) = cache.glob("*.png")
        assert entry.stem == key
        entry.write_bytes(b"from the cache")
        again = figures.save(charts.forest_plot(_comparisons(), title="A"), tmp_path / "2.png",
                             dpi=150)  # fmt: skip
        assert again.read_bytes() == b"from the cache"
        other = figures.save(charts.forest_plot(_comparisons(), title="B"), tmp_path / "3.png",
                             dpi=150)  # fmt: skip
        assert other.read_bytes().startswith(b"\x89PNG")
        assert len(list(cache.glob("*.png"))) == 2
    finally:
        figures.configure(cache=None)


def test_prune_removes_only_entries_unused_for_days(tmp_path):
    old, recent = tmp_path / "old.png", tmp_path / "recent.png"
    for path in (old, recent):
        path.write_bytes(b"png")
    os.utime(old, (0, 0))
    assert prune_cache(tmp_path, days=14) == 1
    assert [path.name for path in tmp_path.iterdir()] == ["recent.png"]


_KERNEL_CELLS = (
    COMPARISONS,
    """
import pandas as pd
from plotnine import aes, geom_point, ggplot
from toolkit.report import charts, figures
figures.configure(cache=None, workers=2)
for name, title in (("a", "A"), ("b", "B"), ("c", "C")):
    figures.save(charts.forest_plot(comparisons(), title=title), f"{name}.png", dpi=150)
children_while_running = len(figures._STATE.children)
""",
    "import json, os; print(json.dumps([sorted(n for n in os.listdir('.') if n.endswith('.png')),"
    " children_while_running]))",
    "figures.save(ggplot(pd.DataFrame({'x': [1]}), aes('x', 'missing')) + geom_point(), "
    "'bad.png', dpi=150)",
)


def test_kernel_draws_in_child_processes_and_a_failed_drawing_fails_its_cell(tmp_path, monkeypatch):
    notebook = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(source) for source in _KERNEL_CELLS]
    )
    client = NotebookClient(notebook, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}})  # fmt: skip
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    with pytest.raises(CellExecutionError, match="FigureError"):
        client.execute()
    printed = json.loads(notebook.cells[2].outputs[0]["text"])
    assert printed == [["a.png", "b.png", "c.png"], 2]
    for name, title in (("a", "A"), ("b", "B"), ("c", "C")):
        charts.forest_plot(_comparisons(), title=title).save(tmp_path / "plain.png", dpi=150,
                                                              verbose=False)  # fmt: skip
        assert (tmp_path / f"{name}.png").read_bytes() == (tmp_path / "plain.png").read_bytes()
    assert "missing" in str(notebook.cells[3].outputs)
