"""Published scores item by item: PLASMIC, ISTH overt DIC (2025) and the French TMA score.

A missing item makes a score a range (every missing item at 0, then at its maximum); nothing is
guessed. Cut-offs and sources are in :mod:`smearscan.verdict.values`; each score is a module of
its own (:mod:`.plasmic`, :mod:`.isth_dic`, :mod:`.french_tma`) built from :mod:`.score`.
"""

from smearscan.verdict.scores.french_tma import (
    french_score,
    french_unvalidated_context,
)
from smearscan.verdict.scores.isth_dic import dic_underlying, isth_dic_score
from smearscan.verdict.scores.plasmic import plasmic_score
from smearscan.verdict.scores.score import Score, ScoreItem

__all__ = ["Score", "ScoreItem", "dic_underlying", "french_score", "french_unvalidated_context",
           "isth_dic_score", "plasmic_score"]
