"""Technologist review of a results folder: confirm or reclassify cells, sign off a slide.

``store`` reads what the batch run wrote and keeps ``DIR/slides/<slide>/review.json``; the
reviewed headline comes from :func:`smearscan.slide_stats.slide_result`, the batch run's own
statistics, fed with the corrected classes. ``images`` draws cell crops and whole fields,
``app`` is the local web app (``smearscan review DIR``), ``corrections`` turns signed reviews
into training labels (``smearscan export-corrections``, ``smearscan train --extra-labels``).
"""
