"""Synthetic data with known truth (DESIGN.md decision 7).

``responses``: survey responses for several cycles and all regions with injected gaps,
response bias and non-response, written as survey-platform exports; ``records``: matching
workforce, training and recruitment records with their own injected effects. Imports from
``toolkit.instruments`` only: synthetic files enter through ingest like any other.
"""
