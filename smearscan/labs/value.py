"""Reading one lab value of any kind: missing, a number (:mod:`~smearscan.labs.number`),
yes/no, positive/negative, one of a key's choices, or a name (a drug's, a complication's),
refusing a name that negates itself, dates the exposure to the past or doubts itself."""

from __future__ import annotations

import unicodedata

from smearscan.labs.doubts import doubted_name, negates_itself
from smearscan.labs.forms import Repeated
from smearscan.labs.keys import LabKey
from smearscan.labs.number import _parse_number
from smearscan.labs.refusals import _fail

#: A dash, which a lab's shorthand writes for "negative" and a table for "not done".
_DASHES = frozenset({"-", "\u2212", "\u2013", "\u2014"})
# "unknown" is not recorded, not "no": a drug or complication nobody asked about is not absent.
# "pending" is the commonest ADAMTS13 before its result (QA 64 F13): not measured yet; so are
# "sent" and "awaited" (QA 139 L-1).
_MISSING_TEXT = frozenset({"", "na", "n/a", "unknown", "not known", "pending", "sent",
                           "awaited"}) | _DASHES
_TRUE_TEXT = frozenset({"true", "yes", "y", "1"})
# "none"/"nil" answer a named key (which drug? none): read as no, never as a drug's name.
_FALSE_TEXT = frozenset({"false", "no", "n", "0", "none", "nil"})
_POSNEG_TEXT = {"positive": "positive", "pos": "positive", "negative": "negative",
                "neg": "negative"}


def _is_missing(raw: object) -> bool:
    return raw is None or (isinstance(raw, str) and raw.strip().lower() in _MISSING_TEXT)


def _parse_bool(key: str, raw: object, source: str) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower() if isinstance(raw, str | int) else None
    if text in _TRUE_TEXT:
        return True
    if text in _FALSE_TEXT:
        return False
    raise _fail(source, key, raw, "expected true/false (or yes/no, 1/0)")


#: Unicode categories a name must not hold: controls (C0, C1), format characters (bidi
#: overrides), lone surrogates (which cannot be printed) and line or paragraph separators,
#: which could print as a line of their own.
_UNPRINTABLE = {"Cc", "Cf", "Cs", "Zl", "Zp"}


def _parse_value(key: str, raw: object, spec: LabKey, source: str) -> object:
    if isinstance(raw, Repeated):
        raise raw.refused(key, source)
    if spec.kind == "posneg" and isinstance(raw, str) and raw.strip() in _DASHES:
        # QA 77 L7: a DAT "-" was read as not recorded while "+" was refused.
        raise _fail(source, key, raw, "a dash is 'negative' in a lab's shorthand and 'not "
                    "done' in a table: write 'negative', or leave it out")
    if _is_missing(raw):
        return None
    if spec.kind == "number":
        return _parse_number(key, raw, spec, source)
    if spec.kind == "bool":
        return _parse_bool(key, raw, source)
    if spec.kind == "posneg":
        text = raw.strip().lower() if isinstance(raw, str) else None
        if text not in _POSNEG_TEXT:
            raise _fail(source, key, raw, "expected 'positive' or 'negative'")
        return _POSNEG_TEXT[text]
    if spec.kind == "choice":
        text = raw.strip().lower() if isinstance(raw, str) else None
        text = spec.codes.get(text, text)
        if text not in spec.choices:
            raise _fail(source, key, raw, f"expected one of {spec.choices_said}")
        return text
    # named: a yes/no answer, or the name (of the drug, of the complication).
    if isinstance(raw, bool) or (isinstance(raw, str) and
                                 raw.strip().lower() in _TRUE_TEXT | _FALSE_TEXT):
        return _parse_bool(key, raw, source)
    if not isinstance(raw, str):
        raise _fail(source, key, raw, "expected a name or true/false")
    if any(unicodedata.category(char) in _UNPRINTABLE for char in raw):
        # A line break in a name would print as a line of the verdict of its own.
        raise _fail(source, key, raw, "a name with a line break or control character")
    if negates_itself(raw):
        # "no gemcitabine" read as a name would be called the cause: ask which answer it is.
        raise _fail(source, key, raw, "a negation or a past exposure: give the name alone if "
                    "it is taken now or was until recently, else false (none)")
    if doubted_name(key, raw) is not None:
        # "HELLP ruled out" read as a name led with delivery (QA 92 #1): ask which answer it is.
        raise _fail(source, key, raw, "a doubt, not a finding (ruled out, negative, not "
                    "applicable or not known, denied, queried, pending, a risk, prophylaxis or "
                    "screening): give the name only when it is present, else false (none)")
    return raw.strip()
