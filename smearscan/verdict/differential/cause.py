"""A cause of the differential, how causes rank, and what several causes share."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from smearscan.labs import Bound, Labs
from smearscan.verdict.values import (
    ADAMTS13_SEVERE,
    CAUSE_RULES,
)

ACTIVE = ("likely", "suspected", "possible")
"""Assessments that keep a cause in play; ``not assessed`` and ``unlikely`` rank after them."""

LIKELIHOOD = (*ACTIVE, "not assessed", "unlikely")
URGENCY = ("emergency", "urgent", "routine")

#: What another cause's action says while TTP is in play (possible or worse): the URGENT line
#: decides what is done about TTP.
TTP_OPEN = "TTP not excluded: treat as the URGENT line says"
#: The same while TTP is likely (a severe ADAMTS13 deficiency).
TTP_LIKELY = "TTP likely: treat as the URGENT line says"
_TTP_OPEN_UNTIL = f"{TTP_OPEN} until ADAMTS13 is back"
#: A child's while ADAMTS13 is unknown (PLASMIC was derived in adults).
_TTP_CHILD = ("ADAMTS13 sample before any plasma: whether to treat as TTP until it is back is "
              "haematology's call (PLASMIC was derived in adults)")
#: Every clause :func:`ttp_deferred` gives, the longer before the one it extends.
_DEFERRALS = (_TTP_OPEN_UNTIL, TTP_OPEN, TTP_LIKELY, _TTP_CHILD)


def ttp_deferred(ttp: Cause, labs: Labs, adult: bool) -> str | None:
    """The clause another cause's action ends with while ``ttp`` is in play, so that it never
    stands beside the URGENT line as the one thing to do (QA 77 M2; QA 89 #1: "control blood
    pressure; re-assess the TMA once it is controlled" under "TTP suspected"); None where TTP
    is not in play. A child's: the ADAMTS13 sample first, and haematology decides (PLASMIC was
    derived in adults). This tool's rule."""
    if ttp.assessment not in ACTIVE:
        return None
    # A child's suspected TTP is treated on suspicion, as its URGENT line says (QA 136 M2:
    # "haematology's call" beside it).
    if not adult and labs.adamts13 is None and ttp.assessment != "suspected":
        return _TTP_CHILD
    if ttp.assessment == "likely":  # QA 90: "not excluded" beside a likely TTP
        return TTP_LIKELY
    return _TTP_OPEN_UNTIL if labs.adamts13 is None else TTP_OPEN


def with_step_added(action: str, step: str) -> str:
    """``action`` with ``step`` added after it, but before the clause that defers to the URGENT
    line where ``action`` ends with one (:func:`ttp_deferred`): that clause stays the last
    word on everything the Next line asks for, and is said once."""
    step, _ = _split_deferral(step)
    action, deferred = _split_deferral(action)
    return f"{action}; {step}" + (f"; {deferred}" if deferred else "")


def _split_deferral(action: str) -> tuple[str, str | None]:
    """``action`` without the clause deferring to the URGENT line it ends with, and that clause
    (None where it ends with none)."""
    for deferred in _DEFERRALS:
        if action.endswith(f"; {deferred}"):
            return action.removesuffix(f"; {deferred}"), deferred
    return action, None


@dataclass(frozen=True)
class Cause:
    """One cause in the differential.

    Attributes
    ----------
    cause : str
        ``ttp``, ``hus``, ``dic``, ``drug-induced``, ``cancer-associated``, ...
    assessment : str
        ``likely``, ``suspected``, ``possible``, ``not assessed`` or ``unlikely``.
    urgency : str
        ``emergency``, ``urgent`` or ``routine``: how fast the action is needed if the cause
        is in play.
    action : str
        What to do about it (``""`` when unlikely).
    reasons : tuple of str
        The findings behind the assessment.
    rule : str
        The rule that judged it, labelled as a standard or this tool's own
        (:data:`~smearscan.verdict.values.CAUSE_RULES`).
    stops : tuple of str
        The listed drugs its action stops (a drug-induced TMA's generic names), else empty.
    """

    cause: str
    assessment: str
    urgency: str
    action: str
    reasons: tuple[str, ...]
    rule: str = ""
    stops: tuple[str, ...] = ()

    @classmethod
    def of(cls, name: str, assessment: str, urgency: str, action: str,
           reasons: Iterable[str]) -> Cause:
        """A cause judged by its rule (:data:`~smearscan.verdict.values.CAUSE_RULES`); its
        action only while it is in play (:data:`ACTIVE`)."""
        return cls(name, assessment, urgency, action if assessment in ACTIVE else "",
                   tuple(reasons), CAUSE_RULES[name].label)

    def to_dict(self) -> dict[str, Any]:
        """``{"cause", "assessment", "urgency", "in_play", "action", "reasons", "rule"}``:
        ``in_play`` says whether ``urgency`` is this patient's, or only what the cause would
        call for if present (QA 66 N7, QA 71 F5: a TTP "unlikely" read "emergency")."""
        return {"cause": self.cause, "assessment": self.assessment, "urgency": self.urgency,
                "in_play": self.assessment in ACTIVE, "action": self.action,
                "reasons": list(self.reasons), "rule": self.rule}


def ranked(causes: Iterable[Cause]) -> tuple[Cause, ...]:
    """Causes in play first, then not assessed, then unlikely; within each, by urgency, then
    likelihood; the order given breaks ties."""
    def key(cause: Cause) -> tuple[int, int, int]:
        group = 0 if cause.assessment in ACTIVE else LIKELIHOOD.index(cause.assessment)
        return group, URGENCY.index(cause.urgency), LIKELIHOOD.index(cause.assessment)
    return tuple(sorted(causes, key=key))


def capped_without_maha(assessment: str, maha: str) -> tuple[str, tuple[str, ...]]:
    """Without a ``likely`` MAHA, a cause that needs MAHA is at most ``possible``."""
    if maha != "likely" and assessment in ("likely", "suspected"):
        return "possible", (f"MAHA not established (MAHA: {maha})",)
    return assessment, ()


def adamts13_text(adamts13: float) -> str:
    """``ADAMTS13 5%``, a bound as ``ADAMTS13 <10%``, and one written as a word with it
    (``ADAMTS13 undetectable (<10%)``; QA 85 #6)."""
    word = f"{adamts13.word} (" if isinstance(adamts13, Bound) and adamts13.word else ""
    return f"ADAMTS13 {word}{adamts13:g}%{')' if word else ''}"


def adamts13_beyond(adamts13: float, sign: str, limit: float) -> str:
    """``ADAMTS13 5% < 10%``; a bound, which says its side itself, without the limit beside it
    (QA 56 #8: ``ADAMTS13 >20% > 20%``)."""
    text = adamts13_text(adamts13)
    return text if isinstance(adamts13, Bound) else f"{text} {sign} {limit:g}%"


def severe_deficiency(labs: Labs) -> bool:
    """ADAMTS13 measured under 10%: a severe deficiency, TTP (ISTH 2020)."""
    return labs.adamts13 is not None and labs.adamts13 < ADAMTS13_SEVERE
