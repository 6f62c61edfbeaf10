"""ptw: the pharmacy technician workforce equality toolkit.

The data flows one way: instrument -> ingest -> store -> analysis -> results bundle -> report.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("ptw")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+source"
