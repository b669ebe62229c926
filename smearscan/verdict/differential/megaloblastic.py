"""Megaloblastic pseudo-TMA: severe B12 or folate deficiency mimics TTP."""

from __future__ import annotations

from smearscan.labs import Labs
from smearscan.verdict.differential.cause import (
    Cause,
)
from smearscan.verdict.findings import LabPicture
from smearscan.verdict.readings import beside, show
from smearscan.verdict.values import (
    B12_DEFICIENT,
    BSH_COBALAMIN,
    FOLATE_DEFICIENT,
    MACROCYTOSIS_MCV,
    NORMAL_HAEMATOCRIT,
    RETICULOCYTES_RAISED,
)


def _measured(labs: Labs) -> list[tuple[str, float, float]]:
    """The B12 and folate given: (key, value, deficiency cut-off)."""
    return [(key, value, cut) for key, value, cut in (
        ("vitamin_b12", labs.vitamin_b12, B12_DEFICIENT),
        ("folate", labs.folate, FOLATE_DEFICIENT)) if value is not None]


def _deficiency(labs: Labs) -> tuple[bool | None, list[str]]:
    """(B12 or folate deficient?, their values); ``None`` when neither is measured."""
    tests = _measured(labs)
    if not tests:
        return None, []
    low = [f"{key.replace('_', ' ')} {show(key, value)} < {cut:g} ({BSH_COBALAMIN})"
           for key, value, cut in tests if value < cut]
    normal = [f"{key.replace('_', ' ')} {show(key, value)} not deficient"
              for key, value, cut in tests if value >= cut]
    if low:
        return True, low
    return (False if len(tests) == 2 else None), normal


def _corrected_reticulocytes(labs: Labs) -> float | None:
    """The reticulocyte % corrected for the anaemia, ``% x Hct / 45`` with the haematocrit taken
    as 3 x Hb (g/dL) (the corrected reticulocyte count; the conversion is this tool's rule); the
    % itself without an Hb. At Hb 6 g/dL a count of 3% is 1.2%: no raised production."""
    if labs.reticulocytes is None or labs.hemoglobin is None:
        return labs.reticulocytes
    return labs.reticulocytes * min(1.0, 3 * labs.hemoglobin / NORMAL_HAEMATOCRIT)


def _action(labs: Labs, deferred: str | None) -> str:
    """Send what is not measured yet of B12 and folate (QA 64 F6: "send B12" beside a B12 of
    90 pg/mL given), then treat; while TTP is in play, ending with the clause ``deferred`` to
    the URGENT line (:func:`~.cause.ttp_deferred`; QA 130 #6: "plasma exchange does not [correct
    it]" beside "URGENT - TTP suspected" read as against the line's plasma exchange)."""
    unsent = [name for name, value in (("B12", labs.vitamin_b12), ("folate", labs.folate))
              if value is None]
    send = f"send {' and '.join(unsent)} (before any transfusion); " if unsent else ""
    replacing = f"replacing {_replaced(labs)} corrects it"
    if deferred is not None:
        return f"{send}{replacing}; {deferred}"
    # QA 80 F4: "until ADAMTS13 is back" beside an ADAMTS13 given.
    ttp = ("keep TTP in mind until ADAMTS13 is back" if labs.adamts13 is None
           else "judge TTP by the ADAMTS13 result")
    return f"{send}{replacing} and plasma exchange does not; {ttp}"


def _replaced(labs: Labs) -> str:
    """The vitamin whose replacement corrects the deficiency measured (QA 136 L2: a folate
    deficiency was "the vitamin"); folate with B12 while a B12 deficiency is not excluded, as
    folate alone can worsen its neurological damage (BSH 2014)."""
    low = {key for key, value, cut in _measured(labs) if value < cut}
    b12_low, folate_low = "vitamin_b12" in low, "folate" in low
    if b12_low and folate_low:
        return "B12 and folate"
    if b12_low:
        return "B12"
    if folate_low and labs.vitamin_b12 is None:
        return (f"folate, with B12 until a B12 deficiency is excluded (folate alone can worsen "
                f"its neurological damage: {BSH_COBALAMIN})")
    return "folate" if folate_low else "the vitamin"


def megaloblastic_cause(maha: str, labs: Labs, picture: LabPicture, *,
                        newborn: bool = False, deferred: str | None = None) -> Cause | None:
    """Megaloblastic pseudo-TMA (severe B12/folate deficiency mimics TTP): listed in a
    haemolytic picture (or one raised haemolysis marker) with macrocytosis (never a
    ``newborn``'s MCV, :data:`~smearscan.verdict.values.NEWBORN_MCV`) or a measured
    deficiency. Reticulocytes (corrected
    for the anaemia) raised -> unlikely, unless a deficiency is measured (possible);
    macrocytosis with reticulocytes not raised and a deficiency -> suspected; a deficiency or
    the pattern alone -> possible; B12 and folate both normal -> unlikely. ``deferred``: the
    clause deferring to the URGENT line while TTP is in play (:func:`~.cause.ttp_deferred`)."""
    # QA 79 N3: a raised LDH alone (intramedullary haemolysis) left a measured B12 deficiency,
    # CLINICAL.md's TTP mimic, out of the verdict.
    in_play = maha in ("likely", "possible") or picture.haemolysis in ("present", "equivocal")
    macrocytic = not newborn and labs.mcv is not None and labs.mcv > MACROCYTOSIS_MCV
    deficient, values = _deficiency(labs)
    if not in_play or not (macrocytic or deficient):
        return None
    action = _action(labs, deferred)
    reasons = [f"MCV {show('mcv', labs.mcv)}" + (f" > {MACROCYTOSIS_MCV:g} fL" if macrocytic
                                                 else ""), *values]
    reticulocytes = _corrected_reticulocytes(labs)
    if reticulocytes is not None:
        raised = reticulocytes > RETICULOCYTES_RAISED
        # With the side of the limit: 2.46% and 2.52% both read "2.5%" (QA 63 L6).
        shown = show("reticulocytes", labs.reticulocytes) + (
            f" (corrected for Hb {show('hemoglobin', labs.hemoglobin)}: "
            f"{beside(reticulocytes, RETICULOCYTES_RAISED)}% "
            f"{'>' if raised else '<='} {RETICULOCYTES_RAISED:g}%)"
            if reticulocytes != labs.reticulocytes else "")
        reasons.append(f"reticulocytes {shown} " + (
            "raised: the marrow is responding" if raised else "not raised despite haemolysis")
            + " (this tool's rule)")
        if raised and not deficient:
            return Cause.of("megaloblastic", "unlikely", "urgent", action, reasons)
        if raised:  # a measured deficiency stays in play: both can be present
            return Cause.of("megaloblastic", "possible", "urgent", action, reasons)
    if deficient is False:
        return Cause.of("megaloblastic", "unlikely", "urgent", action, reasons)
    if deficient and macrocytic and reticulocytes is not None:
        return Cause.of("megaloblastic", "suspected", "urgent", action, reasons)
    if deficient is None:
        reasons.append("B12 and folate not both measured")
    return Cause.of("megaloblastic", "possible", "urgent", action, reasons)


def pseudo_tma(labs: Labs, picture: LabPicture, *, newborn: bool = False) -> bool:
    """Whether the schistocyte count is less specific for a megaloblastic anaemia: one
    :func:`megaloblastic_cause` suspects beside a MAHA, with the reticulocytes not raised as
    counted either (CLINICAL.md: "a low reticulocyte count"; QA 66 N4: 6% at Hb 6 g/dL,
    corrected to 2.4%, tempered a quinine TMA; this tool's rule)."""
    cause = megaloblastic_cause("possible", labs, picture, newborn=newborn)
    return (cause is not None and cause.assessment == "suspected"
            and labs.reticulocytes is not None and labs.reticulocytes <= RETICULOCYTES_RAISED)
