"""Shared set-up for the report templates: read the config and the results bundle.

Templates receive one parameter, ``report_config``: the path of a JSON file with
``bundle`` (the results bundle folder) and ``region`` ("England" or a region code).
"""

import json
from pathlib import Path

from toolkit.bundle import read_bundle


def load_report(report_config: str):
    """Return (config, bundle) for a template."""
    config = json.loads(Path(report_config).read_text(encoding="utf-8"))
    return config, read_bundle(Path(config["bundle"]))
