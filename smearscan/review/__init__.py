"""Technologist review of a results folder: confirm or reclassify cells, sign off a slide.

``records`` reads what the batch run wrote of a slide; ``reviews`` keeps
``DIR/slides/<slide>/review.json`` and derives what a review changes in the merged outputs (the
reviewed headline comes from :func:`smearscan.slide_stats.slide_result`, the batch run's own
statistics, fed with the corrected classes); ``galleries`` picks the cells to show; ``folder``
is a results folder open for review, writing each change at once. ``images`` draws cell crops
and whole fields, ``app`` is the local web app (``smearscan review DIR``), ``corrections`` turns
signed reviews into training labels (``smearscan export-corrections``, ``smearscan train
--extra-labels``).
"""
