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
    """A result reported only as a bound: ``<limit`` (under the assay's range) or ``>limit``.

    As a number it lies just inside the bound (``limit * (1 -/+ 1e-9)``), so that a rule with a
    cut-off at ``limit`` reads it on the right side; it formats as ``"<limit"`` (or
    ``">limit"``) wherever a value is shown. :meth:`stand_ins` are values across the range it
    stands for, on which :func:`smearscan.verdict.assess` checks that the verdict is the same.

    Parameters
    ----------
    sign : {"<", ">"}
    limit : float
        The bound, in the key's default unit.
    plausible : (float, float)
        The key's plausible range: the far end of the range a bound stands for.
    """

    sign: str
    limit: float
    plausible: tuple[float, float]

    def __new__(cls, sign: str, limit: float, plausible: tuple[float, float]) -> Bound:
        bound = super().__new__(cls, limit * (1 - 1e-9 if sign == "<" else 1 + 1e-9))
        bound.sign, bound.limit, bound.plausible = sign, limit, plausible
        return bound

    def __reduce__(self) -> tuple:
        return Bound, (self.sign, self.limit, self.plausible)

    def __format__(self, spec: str) -> str:
        return self.sign + format(self.limit, spec)

    def __repr__(self) -> str:
        return f"{self.sign}{self.limit!r}"

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
        return sorted({v for v in values if low <= v <= high and v != self.limit} | {float(self)})
