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
