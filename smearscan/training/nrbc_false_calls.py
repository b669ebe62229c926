"""NRBC false calls by source, measured end to end on whole images the model never saw.

A slide's NRBC finding is weighed against the calls its classifier makes on cells that are not
NRBCs (:func:`smearscan.slide_stats.nrbc_false_call_bound`). Crops of the validation split
say little of them: no PBC leukocyte crop is called NRBC there, while whole held-out PBC images
analysed as a slide is (the centre leukocyte split in lobes, a red cell pressed to it) give a
few calls per hundred white cells; whole Chula fields, nearly all red cells, give hardly any.
So the calls are counted per source:

- per whole red cell, on every labelled Chula field analysed by the fold model of
  ``scripts/cross_validate.py --save-folds`` that never saw it (Chula holds no NRBC: every call
  is a false one, the calls on its few white cells included);
- per white cell, on the PBC images of the val and test splits (which the shipped model never
  trained on) whose labelled centre is a leukocyte or an immature granulocyte: one white cell
  each, whose count takes in every whole object called NRBC in the image, the red cells beside
  it included.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from smearscan.classification import CellClassifier
from smearscan.datasets import pbc_fields, split_fields
from smearscan.loading import read_field
from smearscan.pipeline import field_cells
from smearscan.training.labels import PBC_LEUKOCYTES
from smearscan.training.whole_fields import WholeFieldScores

#: The PBC splits the shipped model never trained on (:func:`smearscan.datasets.split_fields`).
HELD_OUT_SPLITS = ("val", "test")


@dataclass(frozen=True)
class FalseCalls:
    """NRBC calls over cells of one source that are not NRBCs.

    Attributes
    ----------
    calls : int
        Whole objects called NRBC.
    cells : int
        Cells of the source they are charged to.
    measured_on : str
        What was analysed, for the model file and the notes.
    """

    calls: int
    cells: int
    measured_on: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def red_cell_false_calls(whole: WholeFieldScores) -> FalseCalls:
    """The NRBC calls of whole Chula fields over their counted red cells
    (:func:`~smearscan.training.whole_fields.whole_field_scores`)."""
    red_cells = int(np.count_nonzero(~whole.scores.missed))
    return FalseCalls(whole.nrbc_calls, red_cells,
                      f"{len(whole.coverage)} Chula RBC-12 fields, each analysed by the fold "
                      "model that never saw it (whole red cells; calls on its white cells "
                      "included)")


def white_cell_false_calls(model: CellClassifier, shared: Path, *,
                           limit: int | None = None) -> FalseCalls:
    """The NRBC calls of whole held-out PBC leukocyte images, one white cell each."""
    splits = split_fields(pbc_fields(Path(shared) / "datasets" / "pbc"))
    fields = [field for split in HELD_OUT_SPLITS for field in splits[split]
              if field.points[0][2] in PBC_LEUKOCYTES][:limit]
    calls = sum(image_nrbc_calls(field.image, field.pixel_size_um, model) for field in fields)
    return FalseCalls(calls, len(fields),
                      f"{len(fields)} PBC leukocyte and immature granulocyte images of the "
                      f"{' and '.join(HELD_OUT_SPLITS)} splits (one white cell each, with the "
                      "red cells around it)")


def image_nrbc_calls(image: Path, pixel_size_um: float, model: CellClassifier) -> int:
    """Whole objects a slide would count as NRBCs in one image at its declared pixel size."""
    cells = field_cells(read_field(image), pixel_size_um=pixel_size_um, model=model,
                        trust_pixel_size=True).cells
    return int(np.count_nonzero(~cells["border"] & (cells["class"] == "nrbc")))


def false_calls_point(red: FalseCalls, white: FalseCalls) -> dict[str, dict[str, Any]]:
    """The ``false_calls`` entry of a model file's NRBC operating point
    (:func:`smearscan.slide_stats.nrbc_false_call_bound` reads it)."""
    return {"red_cell": red.to_dict(), "white_cell": white.to_dict()}
