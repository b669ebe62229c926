"""The verdict as plain text for people: the urgent TTP action first, then the evidence."""

from __future__ import annotations

from collections.abc import Sequence

from smearscan.verdict.assessment import UnresolvedBoundError, Verdict
from smearscan.verdict.differential import ACTIVE
from smearscan.verdict.marrow import MarrowAssessment
from smearscan.verdict.scores import Score

__all__ = ["format_text", "unresolved_text"]


def _score_lines(name: str, score: Score) -> list[str]:
    lines = [f"  {name}: {score.total_text()} -> {score.risk}", f"    source: {score.source}"]
    for item in score.items:
        points = "missing" if item.points is None else str(item.points)
        lines.append(f"    {item.item}: {item.value} -> {points}")
    lines.extend(f"    note: {note}" for note in score.notes)
    return lines


def _differential_lines(verdict: Verdict) -> list[str]:
    lines = ["Differential (in play first, by urgency then likelihood):"]
    for rank, cause in enumerate(verdict.differential, start=1):
        # A cause not in play is not this patient's emergency (QA 64 F7).
        urgency = cause.urgency if cause.assessment in ACTIVE else f"if present: {cause.urgency}"
        lines.append(f"  {rank}. {cause.cause}: {cause.assessment} ({urgency}) [{cause.rule}]")
        if cause.action:
            lines.append(f"     action: {cause.action}")
        lines += [f"     - {reason}" for reason in cause.reasons]
    if verdict.unexplained:
        lines.append(f"  Unexplained: {verdict.unexplained}")
    return lines


#: Assessments whose next step is printed under the headline.
_LEADING = ("likely", "suspected")


def _next_lines(verdict: Verdict) -> list[str]:
    """Under the headline, the action of the first cause of the differential that is likely or
    suspected, else the work-up of a marrow infiltration that is (QA 84 #6: seed 000's
    bone-marrow examination came some 40 lines down, under "MAHA: likely"; QA 85 #5: seeds
    002/003's, some 50). None beside an URGENT line: TTP's action is the next step, and another
    cause's must not stand beside it (QA 85 #1: DIC's "blood products for procedures" under
    "do not transfuse platelets")."""
    if verdict.urgent:
        return []
    first = next((cause for cause in verdict.differential
                  if cause.assessment in _LEADING and cause.action), None)
    if first is not None:
        return [f"Next ({first.cause}, {first.assessment}): {first.action}"]
    marrow = verdict.marrow
    if marrow.marrow_infiltration in _LEADING and marrow.workup:
        return [f"Next (marrow infiltration, {marrow.marrow_infiltration}): "
                f"{'; '.join(marrow.workup)}"]
    return []


def _marrow_lines(marrow: MarrowAssessment) -> list[str]:
    lines = [f"Marrow infiltration: {marrow.marrow_infiltration} [{marrow.rule}]"]
    if marrow.considered:
        lines.append(f"    consider: {'; '.join(marrow.considered)}")
    lines += [f"    - {reason}" for reason in marrow.reasons]
    lines += [f"    not assessed: {item}" for item in marrow.not_assessed]
    lines += [f"    work-up: {step}" for step in marrow.workup]
    return lines


def _finding_lines(sign: str, findings: tuple) -> list[str]:
    lines = []
    for f in findings:
        rule = f" [{f.rule}]" if f.rule else ""
        lines.append(f"  {sign} {f.finding}: {f.value}{rule}")
    return lines or ["  (none)"]


def format_text(verdict: Verdict, *, notes: Sequence[str] = ()) -> str:
    """The verdict as plain text: the urgent TTP action (when TTP is possible or worse), any
    ``notes`` on what it rests on, the MAHA headline and the next action of the leading cause
    (:func:`_next_lines`), findings with the rule behind each, scores
    item by item, the ranked differential with actions, the marrow section, what to measure
    next, the disclaimer."""
    lines = [verdict.urgent] if verdict.urgent else []
    lines += [f"NOTE: {note}" for note in notes]
    lines.append(f"MAHA: {verdict.maha}")
    lines += _next_lines(verdict)
    lines.append("Findings for:")
    lines += _finding_lines("+", verdict.findings_for)
    lines.append("Findings against:")
    lines += _finding_lines("-", verdict.findings_against)
    lines.append("Scores:")
    lines += _score_lines("PLASMIC", verdict.plasmic)
    lines += _score_lines("ISTH overt DIC", verdict.isth_dic)
    lines += _score_lines("French TMA", verdict.french)
    lines += _differential_lines(verdict)
    lines += _marrow_lines(verdict.marrow)
    lines.append("Missing / measure next:")
    lines += [f"  - {item}" for item in verdict.missing] or ["  (nothing)"]
    lines.append(verdict.disclaimer)
    return "\n".join(lines)


def unresolved_text(error: UnresolvedBoundError) -> str:
    """Why there is no verdict, after the URGENT line when the whole range calls for it."""
    return "\n".join([*([error.urgent] if error.urgent else []), f"No verdict: {error}"])
