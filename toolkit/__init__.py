"""ptw: the pharmacy technician workforce equality toolkit.

The data flows one way: instrument -> ingest -> store -> analysis -> results bundle -> report.
"""


def __getattr__(name: str) -> str:
    """``__version__`` on first use: ``importlib.metadata`` costs a tenth of a second at start-up,
    which every command (even ``ptw --help``) would pay."""
    if name != "__version__":
        raise AttributeError(f"module 'toolkit' has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        found = version("ptw")
    except PackageNotFoundError:  # running from a source tree that is not installed
        found = "0.0.0+source"
    globals()["__version__"] = found
    return found
