"""Stage 4 of the flow: the analysis plan run over the store (DESIGN.md decision 3).

Modules: ``plan`` (the plan model, ``analysis/plan.yaml``), ``runner`` (``run_plan``: the list of
steps, producing the results bundle), ``weights`` (survey weights the plan asks for),
``models`` (adjusted odds ratios), ``likert`` (Likert items, scales and reliability),
``over_time`` (trends, retention, training, recruitment and representation, suppressed jointly;
it calls ``trends`` for the survey tables and ``records`` for the records tables).

Statistics come from ``toolkit.stats`` and disclosure control from ``toolkit.disclosure``,
libraries of pure functions; the bundle format from ``toolkit.bundle``.
"""
