"""The red-cell shapes of a slide other than schistocytes: their profile, their ICSH 2015
grades, and the other poikilocytes that make a schistocyte count less specific (ICSH 2021)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from smearscan.slide_stats.intervals import Proportion, rounded, rounded_pair, wilson_interval

OTHER_POIKILOCYTES = (
    "teardrop", "spherocyte", "target", "elliptocyte", "ovalocyte", "stomatocyte", "burr",
)
"""Chula morphologies of the other poikilocytoses that make a schistocyte count less specific
(ICSH 2021 names thalassaemia, megaloblastic anaemia, membrane disorders and myelofibrosis)."""


POIKILOCYTE_GRADES = {"1+": 5, "2+": 20, "3+": 50}
"""ICSH 2015 grades of the :data:`OTHER_POIKILOCYTES` by % of red cells: 1+ 5-20%, 2+ 21-50%,
3+ > 50% (Palmer L, et al. Int J Lab Hematol 2015;37:287-303). Each value is the floor of its
band: the bands are whole percentages, so 1+ starts at 5% itself and 2+ and 3+ start above 20%
and 50%."""


MIN_GRADED_CELLS = 100
"""Red cells clear of others (:func:`slide_result`) under which the other poikilocytes are not
graded and the less-specific flag is not raised (this tool's rule): QA 65's BCCD slide B1, of
crowded fields, has 19 of its 308 whole red cells clear of others, 9 of them read as
spherocytes."""


LESS_SPECIFIC_GRADE = "2+"
"""The lowest grade of another poikilocyte that makes the schistocyte % less specific: ICSH 2021's
"other severe poikilocytosis" read on the ICSH 2015 scale, where 1+ (5-20%) is the lowest grade
and 2+ the first above it."""


SIZE_MORPHOLOGIES = ("macrocyte", "microcyte")
"""Morphologies defined by size alone (ICSH 2015, Palmer L, et al. Int J Lab Hematol
2015;37:287-303: larger or smaller than a normal 7-8 um red cell). They are reported only when
the pixel size was declared: an estimated scale assumes the median red cell is 7.5 um, which
normalises macrocytosis and microcytosis away."""


RELATIVE_SIZES_NOTE = ("macrocytes and microcytes not reported: the pixel size was estimated "
                       "from the cells themselves (median red cell taken as 7.5 um), so sizes "
                       "are relative to this slide; give --pixel-size to report them")


@dataclass(frozen=True)
class PoikilocyteGrade:
    """One other poikilocyte of a slide, graded as ICSH 2015 grades it.

    Attributes
    ----------
    shape : str
        Chula morphology name, one of :data:`OTHER_POIKILOCYTES`.
    proportion : Proportion
        Cells of this shape (schistocytes never included) over the whole red cells that touch
        no other object (:func:`slide_result`).
    grade : str or None
        ``"1+"``, ``"2+"`` or ``"3+"`` (:data:`POIKILOCYTE_GRADES`) of the percentage; None
        below 5%.
    """

    shape: str
    proportion: Proportion
    grade: str | None

    def to_dict(self) -> dict[str, Any]:
        """One entry of ``"less_specific_forms"``."""
        return {"shape": self.shape, "grade": self.grade, "count": self.proportion.count,
                "graded_on": self.proportion.denominator,
                "percent": rounded(self.proportion.percent),
                "ci95": rounded_pair(self.proportion.ci95)}

    def text(self) -> str:
        """E.g. ``elliptocyte 3+: 381 of 402 red cells clear of others, 94.8% (95% CI
        92.2-96.5%)``."""
        p = self.proportion
        return (f"{self.shape} {self.grade}: {p.count:,} of {p.denominator:,} red cells clear "
                f"of others, {p.percent:.1f}% (95% CI {p.ci95[0]:.1f}-{p.ci95[1]:.1f}%)")


def shape_profile(rbc_morphology: np.ndarray, k_schistocytes: int,
             n_rbc: int) -> dict[str, Proportion]:
    """Each shape seen among whole red cells (schistocytes as ``schistocyte``, never inside
    another shape), as a proportion of all whole red cells.

    The morphology head gives every object a shape, schistocytes included (a fragment often
    reads as a teardrop): counting those inside the other shapes would let the fragments
    themselves make the schistocyte % "less specific".
    """
    seen = Counter(str(m) for m in rbc_morphology if m)
    if k_schistocytes:
        seen["schistocyte"] = k_schistocytes
    return {name: Proportion.of(seen[name], n_rbc) for name in sorted(seen)}


def poikilocyte_grade(proportion: Proportion) -> str | None:
    """ICSH 2015 grade (:data:`POIKILOCYTE_GRADES`) of an other poikilocyte's proportion.

    Compared in integers so that the band edges are exact: 5% is 1+, 20% is 1+, just above 20%
    is 2+, just above 50% is 3+; None below 5% or without red cells.

    Examples
    --------
    >>> [poikilocyte_grade(Proportion.of(k, 100)) for k in (4, 5, 20, 21, 50, 51)]
    [None, '1+', '1+', '2+', '2+', '3+']
    """
    k, n = proportion.count, proportion.denominator
    if n and 100 * k > POIKILOCYTE_GRADES["3+"] * n:
        return "3+"
    if n and 100 * k > POIKILOCYTE_GRADES["2+"] * n:
        return "2+"
    if n and 100 * k >= POIKILOCYTE_GRADES["1+"] * n:
        return "1+"
    return None


def ungraded_note(n_graded: int) -> str | None:
    """Why the other shapes were not graded, or None where they were."""
    if n_graded >= MIN_GRADED_CELLS:
        return None
    return (f"Other shapes not graded: {n_graded} red cells lie clear of others, under the "
            f"{MIN_GRADED_CELLS} this tool grades on (a crowded area, or too few cells: "
            "photograph more fields, where the cells lie apart)")


def less_specific_forms(profile: Mapping[str, Proportion]) -> tuple[PoikilocyteGrade, ...]:
    """The other poikilocytes graded :data:`LESS_SPECIFIC_GRADE` or more beyond counting error,
    most frequent first.

    ICSH 2015 grades the observed percentage; this tool also asks the lower bound of its Wilson
    95% interval to lie above the 1+ band, so that a handful of cells in a small count (or the
    classifier's scatter of shapes on a normal smear) does not flag the slide.
    """
    floor = POIKILOCYTE_GRADES[LESS_SPECIFIC_GRADE] / 100
    graded = [PoikilocyteGrade(name, profile[name], poikilocyte_grade(profile[name]))
              for name in OTHER_POIKILOCYTES if name in profile]
    flagged = [g for g in graded if wilson_interval(g.proportion.count,
                                                    g.proportion.denominator)[0] > floor]
    return tuple(sorted(flagged, key=lambda g: (-g.proportion.count, g.shape)))


def less_specific_reason(forms: tuple[PoikilocyteGrade, ...]) -> str | None:
    """Why the schistocyte % is less specific, or None when ``forms`` is empty."""
    if not forms:
        return None
    return (f"{'; '.join(form.text() for form in forms)} (graded as ICSH 2015; flagged at "
            f"{LESS_SPECIFIC_GRADE} or more with the whole 95% interval above 20%, the interval "
            "being this tool's rule). ICSH 2021: "
            "the schistocyte % is specific for TMA only when schistocytes are the main "
            "abnormality")
