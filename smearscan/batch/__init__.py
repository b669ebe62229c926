"""Slide runs: group fields into slides, analyse them, write and resume the output folder.

Output layout (``DIR`` is ``--out``)::

    DIR/.smearscan-output                                 marks the folder as smearscan's
    DIR/cells.csv, DIR/summary.json, DIR/errors.csv      merged over every slide in DIR
    DIR/slides/<slide>/cells.csv, report.html, slide.json one slide, written when it completes
    DIR/slides/<slide>/fields/<image stem>.jpg            thumbnails the report links to
    DIR/masks/<slide>/<image stem>.png                    with --save-masks
    DIR/overlays/<slide>/<image stem>.png                 with --overlay
    DIR/slides/<slide>/review.json                        written by ``smearscan review``

The modules: :mod:`~smearscan.batch.run` orchestrates a run, :mod:`~smearscan.batch.naming`
gives slides and fields their output names, :mod:`~smearscan.batch.resume` fingerprints inputs
and verifies finished slides, :mod:`~smearscan.batch.summary` builds a slide's summary and
files as its fields stream in and merges the folder's outputs, :mod:`~smearscan.batch.reissue`
writes a slide's report again on its signed-off review.
"""

from smearscan.batch.merged import write_merged_outputs
from smearscan.batch.outcome import RunOptions, SlideOutcome
from smearscan.batch.run import analyse_slides

__all__ = ["RunOptions", "SlideOutcome", "analyse_slides", "write_merged_outputs"]
