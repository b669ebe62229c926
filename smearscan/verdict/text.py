"""The verdict as plain text for people: the urgent TTP action first, then the evidence."""

from __future__ import annotations

from collections.abc import Sequence

from smearscan.verdict.assessment import UnresolvedBoundError, Verdict
from smearscan.verdict.differential import ACTIVE
from smearscan.verdict.marrow import MarrowAssessment
from smearscan.verdict.scores import Score

__all__ = ["format_text", "unresolved_text"]


def _score_lines(name: str, score: Score) -> list[str]:
    lines = [f"  {name}: {score.total_text()} -> {score.risk_text()}",
             f"    source: {score.source}"]
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
    (:attr:`~smearscan.verdict.assessment.Verdict.next_step`), findings with the rule behind
    each, scores item by item, the ranked differential with actions, the marrow section, what
    to measure next, the disclaimer."""
    lines = [verdict.urgent] if verdict.urgent else []
    lines += [f"NOTE: {note}" for note in notes]
    lines.append(f"MAHA: {verdict.maha}")
    if verdict.next_step is not None:
        lines.append(str(verdict.next_step))
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
