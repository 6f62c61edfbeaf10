"""Stage 6 of the flow: reports and exports from a results bundle (never from microdata).

Modules: ``sentences`` (plain-English text from bundle tables), ``tables`` (publication
tables), ``charts`` (the plotnine chart library, one theme), ``sections`` (what each report
section shows; the ``.qmd`` templates in ``reports/`` call it), ``runner`` (which reports to
render, the disclosure re-check, parallel rendering), ``excel`` (the bundle as a workbook) and
``render`` (the ``builtin`` and ``quarto`` engines).
"""
