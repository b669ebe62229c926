"""The forms a lab result takes besides one plain value: :class:`Repeated` (a key given
more than once) and :class:`Bound` (a result reported only as ``<limit`` or ``>limit``)."""

from __future__ import annotations

from smearscan.errors import LabValueError
from smearscan.labs.refusals import _shown


class Repeated(tuple):
    """The values one lab key was given, as written, where it was given more than once (an
    option twice, a key twice in one JSON object, a column twice in a CSV): refused, since two
    results for one value (a typo, or two draws) must not be settled silently by taking the
    last, and read as each copy for the URGENT line its refusal keeps (QA 43 H-3: refused with
    no line)."""

    @classmethod
    def adding(cls, earlier: object, value: object) -> Repeated:
        """``earlier`` (a value, or the copies so far) with ``value`` given again."""
        return cls((*earlier, value) if isinstance(earlier, Repeated) else (earlier, value))

    def refused(self, key: str, source: str) -> LabValueError:
        """The refusal of ``key`` given as these copies, read as each of them."""
        shown = [_shown(value) for value in self]
        times = "twice" if len(self) == 2 else f"{len(self)} times"
        return LabValueError(f"{source}: {key} given {times} ({', '.join(shown[:-1])} and "
                             f"{shown[-1]}): keep the one the verdict should use", key=key,
                             written=self)


class Bound(float):
    """A result reported only as a bound: ``<limit`` (under the assay's range) or ``>limit``,
    or ``<=limit`` / ``>=limit`` (written so or ``≤``/``≥``: the limit itself included).

    As a number a strict bound lies just inside it (``limit * (1 -/+ 1e-9)``), so that a rule
    with a cut-off at ``limit`` reads it on the right side, and an inclusive one at ``limit``;
    it formats as ``"<limit"`` (``">limit"``, ``"<=limit"``, ``">=limit"``) wherever a value is
    shown. :meth:`stand_ins` are values across the range it
    stands for, on which :func:`smearscan.verdict.assess` checks that the verdict is the same.

    Parameters
    ----------
    sign : {"<", ">"}
    limit : float
        The bound, in the key's default unit.
    plausible : (float, float)
        The key's plausible range: the far end of the range a bound stands for.
    inclusive : bool
        The limit is within the range (QA 81 #3: an ADAMTS13 "<=5 %" was refused as not a
        number, and its URGENT line weakened).
    word : str, optional
        How the result was written where it is a word ("undetectable", read under the key's
        :attr:`~smearscan.labs.LabKey.undetectable` limit), shown beside the bound.
    """

    sign: str
    limit: float
    plausible: tuple[float, float]
    inclusive: bool
    word: str | None

    def __new__(cls, sign: str, limit: float, plausible: tuple[float, float],
                inclusive: bool = False, word: str | None = None) -> Bound:
        inside = 1.0 if inclusive else (1 - 1e-9 if sign == "<" else 1 + 1e-9)
        bound = super().__new__(cls, limit * inside)
        bound.sign, bound.limit, bound.plausible = sign, limit, plausible
        bound.inclusive, bound.word = inclusive, word
        return bound

    def __reduce__(self) -> tuple:
        return Bound, (self.sign, self.limit, self.plausible, self.inclusive, self.word)

    def __format__(self, spec: str) -> str:
        return self.written_sign + format(self.limit, spec)

    def __repr__(self) -> str:
        return f"{self.written_sign}{self.limit!r}"

    @property
    def written_sign(self) -> str:
        """``<``, ``>``, ``<=`` or ``>=``."""
        return self.sign + ("=" if self.inclusive else "")

    def all_under(self, cut: float) -> bool:
        """Whether every value the bound stands for is under ``cut``."""
        return self.sign == "<" and (self.limit < cut or (self.limit == cut
                                                          and not self.inclusive))

    def all_over(self, cut: float) -> bool:
        """Whether every value the bound stands for is over ``cut``."""
        return self.sign == ">" and (self.limit > cut or (self.limit == cut
                                                          and not self.inclusive))

    __str__ = __repr__

    def stand_ins(self, count: int = 40) -> list[float]:
        """Values spread over the range the bound stands for, evenly and geometrically (a
        cut-off in a band narrower than 1/``count`` of the range on both scales is missed)."""
        low, high = (self.plausible[0], self.limit) if self.sign == "<" else (
            self.limit, self.plausible[1])
        values = [low + (high - low) * i / count for i in range(count + 1)]
        if low > 0 or high > 0:
            start = low if low > 0 else high * 1e-3
            values += [start * (high / start) ** (i / count) for i in range(count + 1)]
        # Three significant digits: a refusal names a value one can read.
        values = {float(f"{v:.3g}") for v in values}
        return sorted({v for v in values if low <= v <= high
                       and (self.inclusive or v != self.limit)} | {float(self)})
