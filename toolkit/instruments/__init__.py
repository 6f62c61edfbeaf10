"""Stage 1 of the flow: the survey instruments (DESIGN.md decision 1).

Modules:
- ``model``: the typed instrument model and its loader (``load_instrument``, ``instrument_path``);
- ``yaml_lines``: YAML with the line of every value, for ``file:line`` errors;
- ``relevance``: skip logic (XLSForm ``relevant`` expressions);
- ``versions``: instrument versions per cycle and their declared mappings;
- ``dimensions``: equality dimensions, their detailed -> grouped -> binary hierarchy and
  intersections;
- ``export``: codebook, import template, questionnaire and XLSForm.

Imports only ``toolkit.errors``; every later stage may import from here.
"""
