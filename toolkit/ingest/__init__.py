"""Stage 2 of the flow: survey-platform exports and records files in, checked rows out.

Modules: ``readers`` (and ``read_*``, ``layouts``, ``text_encoding``, ``raw_export``) turn a file
into text cells with their source rows; ``mapping`` matches headers to items; ``coding``
codes answers and checks rows; ``records`` knows the workforce, training and recruitment
records; ``batch`` is the contract with the store (what a batch is, where it goes, and the
store operations the pipeline needs); ``pipeline`` runs one file through all of it, in one
transaction, quarantining what it cannot accept.

Imports from ``toolkit.instruments`` only (and ``errors``); never from the store.
"""
