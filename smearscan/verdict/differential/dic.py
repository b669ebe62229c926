"""DIC: by the ISTH overt DIC score and a recorded underlying disorder."""

from __future__ import annotations

from smearscan.labs import Labs
from smearscan.verdict.differential.cause import (
    Cause,
)
from smearscan.verdict.readings import show
from smearscan.verdict.scores import Score, dic_underlying
from smearscan.verdict.values import ISTH_ALGORITHM, ISTH_FIBRINOGEN, ISTH_OVERT_DIC, ISTH_PT_S


def dic_cause(labs: Labs, isth: Score) -> Cause:
    """ISTH >= 5 -> likely with a recorded underlying disorder (possible without one, which
    the score needs); < 5
    whatever the missing items -> unlikely; no PT seconds, D-dimer or fibrinogen -> not
    assessed (an INR is not converted); otherwise possible."""
    action = ("treat the underlying disorder; repeat the ISTH score; blood products for "
              "bleeding or procedures")
    score = f"ISTH {isth.total_text()}: {isth.risk}"
    underlying = dic_underlying(labs)
    if isth.minimum >= ISTH_OVERT_DIC:
        if underlying:
            return Cause.of("dic", "likely", "urgent", action,
                          (score, f"underlying disorder: {', '.join(underlying)}"))
        return Cause.of("dic", "possible", "urgent", action,
                        (score, "no underlying disorder recorded: the score does not apply "
                         "without one; look for one (sepsis, cancer, trauma, obstetric)"))
    if isth.maximum < ISTH_OVERT_DIC:
        # QA 71 F2: a septic patient one point short was told nothing more.
        developing = ((f"with {', '.join(underlying)} recorded, a score under "
                       f"{ISTH_OVERT_DIC:g} may be a DIC still developing (non-overt): repeat the "
                       f"score in 1-2 days, as {ISTH_ALGORITHM} advises",) if underlying else ())
        return Cause.of("dic", "unlikely", "urgent", action, (score, *developing))
    if all(item.points is None for item in isth.items[1:]):
        # The band is an example, not the INR's own (qacli8 L-7: quoted for an INR of 1.6).
        inr = (f"; INR {show('inr', labs.inr)} is not converted to PT seconds (an INR of "
               "1.3-1.49 can be 3-6 s, one point; a higher one, more)"
               if labs.inr is not None else "")
        return Cause.of("dic", "not assessed", "urgent", action, (
            score, f"no PT prolongation in seconds, D-dimer or fibrinogen given{inr}"))
    return Cause.of("dic", "possible", "urgent", action, (score, "measure the missing ISTH items"))


def consumptive_dic(dic: Cause, labs: Labs) -> bool:
    """An overt DIC that consumes clotting factors: likely (ISTH >= 5 with its disorder) with a
    PT prolonged by 6 s or more (2 ISTH points) or a fibrinogen under 1.0 g/L, which TTP does
    not show. Low platelets and a high D-dimer alone score 5, as a severe TTP does, and a PT 3-6
    s over control (INR about 1.3-1.5) is within what TTP shows. The PT counts only beside an
    INR, which it is checked against (:func:`smearscan.labs.parse_labs`): a PT typed as its
    prolongation (13.5 s) with nothing to contradict it must not hide TTP (this tool's
    rule)."""
    pt, fibrinogen = labs.pt_prolongation_s, labs.fibrinogen
    prolonged = pt is not None and labs.inr is not None and pt >= ISTH_PT_S[1]
    depleted = fibrinogen is not None and fibrinogen < ISTH_FIBRINOGEN
    return dic.assessment == "likely" and (prolonged or depleted)
