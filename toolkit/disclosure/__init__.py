"""Disclosure control (DESIGN.md decision 9; DOMAIN.md section 7).

``suppression``: primary and secondary suppression over linked tables, optional rounding,
and the audit of a set of published tables. A library of pure functions (DataFrames in,
DataFrames out, no I/O) that the analysis applies before the bundle is written and the
report runner applies again before anything renders. Imports ``toolkit.errors`` only.
"""
