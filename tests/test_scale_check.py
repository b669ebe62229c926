"""The per-field check of a declared pixel size: which fields are named off scale."""

import numpy as np
import pytest

from smearscan.pipeline import SCALE_CHECK_MIN_OBJECTS, SCALE_NAME, off_declared_scale
from smearscan.segmentation import MAX_SCALE_DISAGREEMENT, Segmentation


def _estimate(objects: int, pixel_size_um: float) -> Segmentation:
    labels = np.arange(objects, dtype=np.int32).reshape(1, -1) + 1
    return Segmentation(labels, pixel_size_um, True, 7.5 / pixel_size_um)


@pytest.mark.parametrize(("objects", "limit"), [
    (SCALE_CHECK_MIN_OBJECTS, SCALE_NAME),  # a sure estimate
    (SCALE_CHECK_MIN_OBJECTS - 1, MAX_SCALE_DISAGREEMENT),  # one that can read twice the scale
])
@pytest.mark.parametrize("larger", [True, False])
def test_a_field_is_named_off_scale_past_its_limit_either_way(objects, limit, larger):
    for ratio, named in ((limit * 0.999, False), (limit * 1.001, True)):
        own = 0.2 * ratio if larger else 0.2 / ratio
        assert off_declared_scale(_estimate(objects, own), 0.2) is named


def test_a_field_of_cells_too_large_to_measure_is_left_out_at_a_declared_size():
    # QA 67 M3: a field of ~644 px cells at --pixel-size 0.2 was counted at that size (649
    # objects: 111 "red cells", 429 "platelets"); its own estimate gave up beyond 600 px.
    from synthetic import synthetic_field

    from smearscan.errors import OffScaleFieldError
    from smearscan.pipeline import field_cells

    rgb = synthetic_field([(400, 400), (1100, 400)], radius=330, shape=(800, 1500))
    with pytest.raises(OffScaleFieldError) as refused:
        field_cells(rgb, pixel_size_um=0.2, model=None)
    assert str(refused.value) == (
        "its stained blobs measure 649 px across, over the 600 px of a red cell this tool works "
        "with, where --pixel-size 0.2 um/px gives red cells of 38 px: taken at another objective "
        "or enlarged? Left out of the count; --trust-pixel-size (trust_pixel_size=True in "
        "Python) counts it at the declared size")
    assert field_cells(rgb, pixel_size_um=0.2, model=None, trust_pixel_size=True).cells[
        "cell_id"].size > 0
