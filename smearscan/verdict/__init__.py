"""Verdict stage: the slide's schistocyte call + lab values -> a reasoned, cited MAHA verdict.

Decision support only: every statement names the findings (with the values used) that led to
it and the rule that judged them, a published standard with its citation or this tool's own
rule; the output says that a clinician decides. Nothing missing is guessed: missing inputs are
listed under ``missing``, scores with missing items are given as a range, and what could not be
assessed says so. Whenever TTP is possible or worse, the urgent action line of the ISTH 2020
guidelines comes first in every output.

Modules, one owner each:

* :mod:`.values` - every cut-off and its source (:data:`~.values.RULES`), values as text;
* :mod:`.findings` - the smear findings (the call is :mod:`smearscan.slide_stats`'s), the
  haemolysis picture and the MAHA call;
* :mod:`.scores` - PLASMIC, ISTH overt DIC (2025), French TMA score;
* :mod:`.differential` - each cause with its assessment, urgency and action, ranked;
* :mod:`.marrow` - bone-marrow infiltration and what to name beside it;
* :mod:`.assessment` - the :class:`Verdict` of one slide;
* :mod:`.text` - the verdict as text for people.
"""

from smearscan.verdict.assessment import (
    DISCLAIMER,
    NextStep,
    OwnLine,
    UnresolvedBoundError,
    Verdict,
    assess,
    own_lines_over,
    slide_verdict,
    urgent_before_counting,
    urgent_over_lines,
    urgent_over_readings,
)
from smearscan.verdict.differential import Cause, urgent_ttp
from smearscan.verdict.findings import (
    Finding,
    SlideNotFoundError,
    SmearFindings,
    smear_findings_from_summary,
)
from smearscan.verdict.marrow import MarrowAssessment
from smearscan.verdict.scores import Score, ScoreItem, french_score, isth_dic_score, plasmic_score
from smearscan.verdict.text import format_text, unresolved_text
from smearscan.verdict.values import RULES, Rule, rules_markdown

__all__ = [
    "DISCLAIMER",
    "RULES",
    "Cause",
    "Finding",
    "MarrowAssessment",
    "NextStep",
    "OwnLine",
    "Rule",
    "Score",
    "ScoreItem",
    "SlideNotFoundError",
    "SmearFindings",
    "UnresolvedBoundError",
    "Verdict",
    "assess",
    "format_text",
    "french_score",
    "isth_dic_score",
    "own_lines_over",
    "plasmic_score",
    "rules_markdown",
    "urgent_ttp",
    "urgent_before_counting",
    "urgent_over_lines",
    "urgent_over_readings",
    "slide_verdict",
    "smear_findings_from_summary",
    "unresolved_text",
]
