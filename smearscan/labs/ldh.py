"""The LDH checks: an LDH is judged only against its own lab's upper limit, one that is
plausible for the population, and is refused under serum level (one in ukat/L written as
U/L)."""

from __future__ import annotations

from smearscan.errors import LabValueError
from smearscan.labs.forms import Bound
from smearscan.labs.keys import LAB_KEYS
from smearscan.labs.record import NEWBORNS, Labs

#: An LDH under this fraction of its upper limit is not a serum result: one in ukat/L written as
#: U/L (21 'U/L' against a ULN of 4.1 ukat/L, 246 U/L, is 1260 U/L; QA 22 D4; 60 against 225,
#: QA 23 N5). This tool's rule; adult reference intervals run about 120-250 U/L, their lower
#: limit about half the upper.
LDH_LEAST_FRACTION_OF_ULN = 0.4


def ldh_without_limit(labs: Labs, option: str | None = None,
                      population: str | None = None) -> str | None:
    """Why an LDH given without its lab's upper limit of normal (``ldh_uln``; ``option``, the
    command line's name for it, where there is one) is refused, or None when it has one, is
    over every limit (:func:`ldh_over_every_limit`), or no LDH is given.

    An LDH is judged only against the limit of the assay that measured it: limits differ about
    2.5x between methods and ages (adult IFCC assays ~225-250 U/L, older methods and children
    higher), and every default this tool tried misread some LDH, either a raised one as normal
    (a TTP picture closed) or a normal one as raised (QA 24 to QA 28; this tool's rule).
    """
    if labs.ldh is None or labs.ldh_uln is not None or ldh_over_every_limit(labs, population):
        return None
    named = f"ldh_uln ({option})" if option else "ldh_uln"
    return (f"ldh = {_ldh_text(labs)} given without {named}: give the upper limit of normal "
            "printed beside it on the lab report; LDH limits differ between methods and ages, "
            "so an LDH is judged only against its own lab's limit")


#: The highest upper limit of normal of an LDH assay after the neonatal period: adult IFCC
#: methods ~190-250 U/L, older (pyruvate-to-lactate) methods ~480-620, a child's up to ~1000.
#: A higher limit for any other population than neonates is a slip (a typo, a neonate's range)
#: that reads a raised LDH as normal (900 U/L against 1500). This tool's rule.
LDH_ULN_MAX = 1000.0


def ldh_top_limit(population: str | None) -> float:
    """The highest upper limit of normal of an LDH assay this tool accepts for ``population``
    (None: any): :data:`LDH_ULN_MAX` after the neonatal period, else the top of ``ldh_uln``'s
    plausible range, a newborn's."""
    if population is not None and population not in NEWBORNS:
        return LDH_ULN_MAX
    return LAB_KEYS["ldh_uln"].plausible[1]


def ldh_over_every_limit(labs: Labs, population: str | None = None) -> bool:
    """An LDH over :func:`ldh_top_limit`, its whole range for a bound (``<1500`` may be 200):
    raised whatever its lab's limit, so read so without it (QA 130 #3: the seed case's 2477 U/L
    without its limit was refused, and the verdict with it; QA 132 D1: '<1500 U/L' was read as
    over 1000; this tool's rule)."""
    if labs.ldh is None:
        return False
    top = ldh_top_limit(population)
    return labs.ldh.all_over(top) if isinstance(labs.ldh, Bound) else labs.ldh > top


def ldh_limit_implausible(labs: Labs, population: str, option: str | None = None) -> str | None:
    """Why an LDH's limit (``ldh_uln``; ``option``, its command-line name) over
    :data:`LDH_ULN_MAX` cannot judge it outside the neonatal populations; None when it can (or
    no LDH is given)."""
    if labs.ldh is None or labs.ldh_uln is None or population in NEWBORNS or (
            labs.ldh_uln <= LDH_ULN_MAX):
        return None
    named = f"ldh_uln ({option})" if option else "ldh_uln"
    return (f"{named} = {labs.ldh_uln:g} U/L is over {LDH_ULN_MAX:g} U/L, above any LDH assay's "
            "upper limit of normal after the neonatal period (adults ~190-620 U/L by method, a "
            "child's up to ~1000; this tool's rule): check the limit printed beside the LDH")


def ldh_under_serum_level(ldh: float, uln: float) -> bool:
    """An LDH under :data:`LDH_LEAST_FRACTION_OF_ULN` of the upper limit ``uln``: not a serum
    result (this tool's rule)."""
    # Rounded as values are read (to 6 decimals): 85.6 against 214 is 0.4x, not under (QA 39
    # L-1: 0.4 * 214 is 85.60000000000001 in floating point).
    return ldh < round(LDH_LEAST_FRACTION_OF_ULN * uln, 6)


def _ldh_text(labs: Labs) -> str:
    """The LDH as written, where that was ukat/L, and in U/L (qacli8 L-10: '25 ukat/L' was named
    only as the 1500 U/L it was read as)."""
    if ldh_maybe_in_ukat(labs):
        return f"{labs.ldh:g} U/L"
    return f"{labs.ldh / LDH_UKAT:g} ukat/L (= {labs.ldh:g} U/L)"


def ldh_maybe_in_ukat(labs: Labs) -> bool:
    """An LDH that may be a result in ukat/L written as U/L: one not written in ukat/L."""
    return labs.units.get("ldh") != "ukat/L"


#: U/L in one ukat/L of LDH (1 ukat = 60 U).
LDH_UKAT = LAB_KEYS["ldh"].units["ukat/L"]


def ldh_not_serum(labs: Labs) -> str | None:
    """Why an LDH under :data:`LDH_LEAST_FRACTION_OF_ULN` of its limit cannot be read (one in
    ukat/L written as U/L, or a mistyped limit), or None when it can (or is not given)."""
    if labs.ldh is None or labs.ldh_uln is None or not ldh_under_serum_level(labs.ldh,
                                                                             labs.ldh_uln):
        return None
    check = (f"was it in ukat/L (x{LDH_UKAT:g} U/L)?" if ldh_maybe_in_ukat(labs) else
             "check the value and the limit")
    return (f"ldh = {_ldh_text(labs)} is under {LDH_LEAST_FRACTION_OF_ULN:g}x ldh_uln = "
            f"{labs.ldh_uln:g} U/L, not a serum result (this tool's rule): {check}")


def check_ldh(labs: Labs, source: str, *, complete: bool = True,
              population: str | None = None) -> None:
    """Refuse, ``complete``, an LDH without its ULN (:func:`ldh_without_limit`) and, once the
    ``population`` is known (a folder run's lab file, before any work), an LDH its limits
    cannot judge: a limit over :data:`LDH_ULN_MAX` (:func:`ldh_limit_implausible`) or an LDH
    under serum level (:func:`ldh_not_serum`). Without the population these are left to
    :func:`smearscan.verdict.assess`, whose refusal keeps the URGENT line (QA 37 H-2, QA 38
    H-1: an LDH of 399 against 1000 U/L was refused without the line every reading gives).

    Raises
    ------
    LabValueError
        Naming ``source``, the value and what to give.
    """
    missing = ldh_without_limit(labs, population=population)
    if missing is not None and complete:
        raise LabValueError(f"{source}: {missing}")
    if population is None:
        return
    unread = ldh_limit_implausible(labs, population) or ldh_not_serum(labs)
    if unread is not None:
        raise LabValueError(f"{source}: {unread}")
