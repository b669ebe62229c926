"""Reading one lab value of any kind: missing, a number (:mod:`~smearscan.labs.number`),
yes/no, positive/negative, one of a key's choices, or a name (a drug's, a complication's),
refusing a name that negates itself, dates the exposure to the past or doubts itself."""

from __future__ import annotations

import datetime
import itertools
import re
import unicodedata

from smearscan.labs.forms import Repeated
from smearscan.labs.keys import LabKey
from smearscan.labs.number import _parse_number
from smearscan.labs.refusals import _fail

# "unknown" is not recorded, not "no": a drug or complication nobody asked about is not absent.
# "pending" is the commonest ADAMTS13 before its result (QA 64 F13): not measured yet.
_MISSING_TEXT = frozenset({"", "na", "n/a", "-", "unknown", "not known", "pending"})
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


#: A dash, which a lab's shorthand writes for "negative" and a table for "not done".
_DASHES = frozenset({"-", "\u2212", "\u2013"})


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
        if text not in spec.choices:
            raise _fail(source, key, raw, f"expected one of {', '.join(spec.choices)}")
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
    if _NEGATION.match(unicodedata.normalize("NFKC", raw).strip()) or _past_exposure(raw):
        # "no gemcitabine" read as a name would be called the cause: ask which answer it is.
        raise _fail(source, key, raw, "a negation or a past exposure: give the name alone if "
                    "it is taken now or was until recently, else false (none)")
    if doubted_name(key, raw) is not None:
        # "HELLP ruled out" read as a name led with delivery (QA 92 #1): ask which answer it is.
        raise _fail(source, key, raw, "a doubt, not a finding (ruled out, negative, not "
                    "applicable or not known, denied, queried, pending, a risk, prophylaxis or "
                    "screening): give the name only when it is present, else false (none)")
    return raw.strip()


#: A named answer that starts by denying itself ("no gemcitabine", "not known to", "never").
_NEGATION = re.compile(r"(no|not|never|without|denies|nil|past|ex)\b", re.IGNORECASE)
#: ... or that names a past exposure anywhere ("stopped quinine in 2010", "quinine, stopped in
#: 2010", "previously on ...", "was on ...", "off ...", "10 years ago", "quinine in 2015",
#: "quinine, none since 2019", "held since 2020", "no longer"; not "started 2 weeks ago" or
#: "since 2015"): a drug stopped long ago would be called the cause, and "stop stopped
#: quinine" advised.
_ENDED = (r"stopped|discontinued|ceased|withdrawn|completed|ended|finished|resolved|until|till|"
          r"previous|previously|formerly|former|prior(?! to admission)|history|hx|h/o|was on|"
          r"off(?!-label)|held|withheld|on hold|paused|none|nil|no longer|not now|"
          r"not currently|not taken|not since|abstinent")
_PAST = re.compile(rf"\b({_ENDED}|last year|(\d+\s*)?(years?|yrs?|months?)\s+ago)(\b|$)",
                   re.IGNORECASE)
#: A year an exposure is dated to ("quinine 2015", "in Dec 2025"; not a dose, "2000 mg"): past
#: unless it is this year; a range of years ("2010-2012") by its end.
_DATED = re.compile(r"\b((?:19|20)\d\d)\b(?!\s*(?:-|–|to)?\s*(?:mg|g|mcg|ug|µg|units?|iu|u|ml|"
                    r"mmol|%)\b)", re.IGNORECASE)
_RANGE = re.compile(r"\b(?:19|20)\d\d\s*(?:-|–|to|->|→)\s*((?:19|20)\d\d)\b")
#: When a current drug was started ("started 2 years ago", "started in 2015", "since 2015",
#: "since transplant in 2015"), up to a word that ends it or a bracket ("started 2010, stopped
#: 2012", "since 2015 until 2016", "since 2019 (previous pregnancy)"): not a past exposure;
#: removed before :data:`_PAST` and :data:`_DATED` are looked for.
_STARTED = re.compile(rf"\b(started|began|begun|(?<!not )since)\b((?!\b({_ENDED}|and)\b)[^,;()])*",
                      re.IGNORECASE)
#: A named answer that doubts or denies itself anywhere ("HELLP ruled out", "HELLP ruled-out",
#: "?HELLP", "query HELLP", "pre-eclampsia excluded", "HELLP negative", "HELLP-negative", "HELLP
#: neg", "HELLP -ve", "HELLP: no", "HELLP (no)", "HELLP: false, TTP: no", "HELLP = 0", "HELLP:
#: F", "HELLP 0, TTP 1", "HELLP (n/a)", "HELLP (0/3 criteria)", "HELLP not present", "HELLP not
#: suspected",
#: "HELLP not supported by LFTs", "quinine denied", "HELLP risk", "HELLP prophylaxis", "HELLP
#: screening", "HELLP pending", "HELLP vs TTP"): the complication or the drug is not known to be
#: present, and read as a name it was called the cause (this tool's rule; QA 92 #1, QA 93 #1,
#: QA 95 #1, #2, QA 102 L4, QA 103 H1, QA 104 H2, QA 105 H1: a no, "false" (hyphened too:
#: "false-positive HELLP") or 0 anywhere; not a decimal "0,3 g", "(n/v)" or "(f/u)": QA 105 L1,
#: QA 106 H1: "(n/a)" was let through with them; "in error" of a drug too). A word
#: hyphened
#: to the one before it and followed by another qualifies the next ("Coombs-negative HELLP", "a
#: high-risk pregnancy"; QA 93 #2), not the name. "Suspected", "possible" and "probable" are
#: what the verdict calls a cause in play, so they stay the name.
_DOUBT_WORDS = (r"ruled?[\s-]*out|r/o|excluded?|neg(?:ative)?|unlikely|unconfirmed|"
                r"not[\s-]+(?:(?:yet|formally|clinically|fully|been)\s+)?(?:confirmed|present|"
                r"found|seen|suspected|likely|detected|met|supported|applicable|assessed|done|"
                r"known|diagnosed|true)|inapplicable|does\s+not\s+apply|unknown|"
                r"within\s+normal\s+limits|no\s+criteria|"
                r"absent|denie[sd]|quer(?:y|ied)|pending|vs\.?|versus|(?:at\s+|high\s+|low\s+)?risk|"
                r"prophyla(?:xis|ctic)|screen(?:ing|ed)?|in[\s-]+error|untrue|wrong(?:ly)?|falsely|"
                r"incorrect(?:ly)?|mistaken(?:ly)?")
#: An answer of no, not applicable, not known, not done or nothing abnormal, standing as its own
#: clause or after a separator ("HELLP: NAD", "HELLP; NA", "quinine - N/K"; QA 107 H2, M1); "NA"
#: after a space in capitals or lower case only: "Na" after a word is sodium ("HELLP; low Na",
#: "heparin Na": QA 108 M3), after a separator ("HELLP: Na") an answer.
_NO_ANSWER = r"no|none|nil|0|n|f|nad|wnl|w\.n\.l\.?|nk|nd|n\s*/\s*[akd]|n\.\s*[akd]\.?"
#: A 0 that is a gestation's days or a day's number, not an answer ("34 0/7 weeks", "34 + 0
#: weeks", "day 0 postpartum", "gemcitabine day 0 of cycle 2": QA 108 M3).
_NOT_A_DAY = r"(?<!day )(?<![\w+.,/])"
_DOUBT_PARTS = (
    r"[?\uff1f\ufe56]|-ve\b",
    # An answer of no ending its clause, or 0, n, f right after a separator.
    rf"(?:[:=\-(\[,;]\s*(?:{_NO_ANSWER}|na)|\s\s*(?:{_NO_ANSWER}|(?-i:NA|na)))"
    r"\)?\.?\s*(?=$|[;\])\]]|,(?!\d))",
    r"[:=(]\s*[0nf](?![\w=]|\.\d|(?<=f)/u\b|(?<=n)/v\b)",
    # "n/a" anywhere ("HELLP [n/a]", "HELLP - N.A.").
    r"(?<![\w/])n\s*/\s*a(?![\w/])|(?<![\w.])n\.\s*a\.?(?!\w)",
    # A zero count of criteria ("HELLP 0/3", "0 of 3 criteria", "0pts"; QA 107 H3).
    rf"{_NOT_A_DAY}0\s*(?:/(?!\s*7\b)|\bof\b|\bout\s+of\b)\s*\d|"
    rf"{_NOT_A_DAY}0\s*(?:criteri|pts?\b|points?\b)",
    # A 0 before the next name of a list of answers ("HELLP 0 TTP 1", "HELLP 0 / TTP 1"; QA 108
    # H2), or a no before a name answered yes ("HELLP no TTP yes"; QA 108 M1).
    rf"(?<=\s){_NOT_A_DAY}0(?=\s*[^\w\s]?\s*[^\W\d_])(?!\s*(?:weeks?|wks?|w|days?|d)\b)|"
    r"(?<![\w-])no\s+[^\W\d_][\w-]*\s*[:=]?\s*(?:yes|y|1)\b",
    r"(?<![^\W\d_])false(?![^\W\d_])",
    rf"(?<![\w-])(?:{_DOUBT_WORDS})(?![\w-])|(?<=-)(?:{_DOUBT_WORDS})(?![\w-])(?!\s+[^\W\d_])",
    # An arrow: the diagnosis or the drug changed to another ("HELLP -> TTP", "HELLP ⇒ TTP";
    # QA 105 M1, QA 108 H2).
    r"[-=~]+>|[\u2190-\u21ff\u27f0-\u27ff\u2900-\u297f\u2794-\u27bf]",
)
_DOUBT = re.compile("|".join(_DOUBT_PARTS), re.IGNORECASE)
#: Colons and dashes that Unicode's compatibility forms leave as they are, read as ':' and '-'
#: ("HELLP ∶ 0", "HELLP ‐ no"; QA 108 M1).
_PUNCTUATION = str.maketrans({**dict.fromkeys("\u2236\ua789\u02d0", ":"),
                              **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212", "-")})
#: Words that take back a diagnosis ("HELLP, revised to TTP", "HELLP disproved"): a doubt of an
#: obstetric complication, not of a drug, whose name may carry them innocently ("tacrolimus,
#: dose revised", "graft rejected") (this tool's list; QA 103 L2, QA 105 M2: each was read as a
#: HELLP).
_DIAGNOSIS_DOUBTS = {"obstetric_complication": re.compile(
    r"(?<![^\W\d_])(?:disprov(?:ed|en)|uncertain|unproven|overturned|rejected|revised|"
    r"retracted|withdrawn|dropped|refuted|discounted|unclear|reconsidered|"
    r"unsupported|superseded)(?![^\W\d_])", re.IGNORECASE)}
#: The doubts a drug's name may carry and still be taken: a drug given as prophylaxis
#: (ciclosporin against graft-versus-host disease), with a risk named beside it ("at risk of
#: GVHD", "high bleeding risk") or its levels screened ("trough screening") is taken (this
#: tool's rule; QA 93 #2).
_TAKEN_DOUBTS = {"drug_exposure": r"prophyla(?:xis|ctic)|(?:at\s+|high\s+|low\s+)?risk|"
                                  r"screen(?:ing|ed)?"}
#: A clause that is only other diagnoses' or tests' negative results, each named first
#: ("Coombs-negative", "HIV negative", "TTP excluded", "TTP and aHUS ruled out", "DIC: no"): a
#: complication written beside it ("HELLP, Coombs-negative") is present (QA 98 M1: each was
#: refused; this tool's list). A doubt before the name or anything else in the clause may be
#: the complication's ("HELLP, ruled out: TTP", "HELLP, excluded in favour of TTP", "HELLP,
#: rule out TTP": QA 102 H1, L3), and keeps it refused.
_OTHER_FINDING = (r"(?:ttp|a?hus|aflp|dic|itp|sle|lupus|aps|coombs|dat|hiv|gbs|hbv|hcv|cmv|"
                  r"covid(?:-?19)?|sepsis|adamts-?13|stec|malaria)")
_OTHER_NEGATIVE = {"obstetric_complication": re.compile(
    rf"\s*{_OTHER_FINDING}(?:\s*(?:/|&|\band\b|\bor\b)\s*{_OTHER_FINDING})*"
    r"(?:\s*[-:=]\s*|\s+)(?:neg(?:ative)?|-ve|excluded|ruled[\s-]*out|unlikely|absent|"
    r"not\s+detected|no|nil|none|false|0|n\s*/\s*a|na|wnl|normal)\.?\s*", re.IGNORECASE)}
#: A clause that only names other findings ("DIC" of "HELLP, DIC, TTP: 0"): the answer after
#: the next may be the whole list's, the complication's too (QA 105 M1: read as a HELLP).
_BARE_FINDINGS = re.compile(
    rf"\s*{_OTHER_FINDING}(?:\s*(?:/|&|\band\b|\bor\b)\s*{_OTHER_FINDING})*\s*", re.IGNORECASE)
#: A first clause that is the complication's name alone ("HELLP", "HELLP syndrome"), and a
#: clause answered as a checklist is ("DIC: 0", "TTP = false"): that answer may be the list's,
#: the name's too ("HELLP, TTP: 0", "HELLP, DIC and TTP: 0": QA 108 H2, L3).
_BARE_NAME = re.compile(r"\s*[^\W\d_][\w-]*(?:\s+[^\W\d_][\w-]*)?\s*")
_CHECKLIST = re.compile(r"[:=]")
#: A clause: text between commas, semicolons and brackets.
_CLAUSE = re.compile(r"[^,;()\[\]]*\w[^,;()\[\]]*")
#: Unicode categories a name must not hold: controls (C0, C1), format characters (bidi
#: overrides), lone surrogates (which cannot be printed) and line or paragraph separators,
#: which could print as a line of their own.
_UNPRINTABLE = {"Cc", "Cf", "Cs", "Zl", "Zp"}


def _past_exposure(name: str) -> bool:
    """The name dates the exposure to the past (:data:`_PAST`, a year before this one, or a
    range of years ending before it)."""
    this_year = datetime.date.today().year
    if any(int(end) < this_year for end in _RANGE.findall(name)):
        return True
    current = _STARTED.sub("", name)
    return bool(_PAST.search(current)) or any(int(year) < this_year
                                              for year in _DATED.findall(current))


def _another_findings(key: str, name: str, doubt: re.Match[str]) -> bool:
    """Whether the ``doubt`` in ``name`` is plainly another finding's: it stands in a clause
    after the first, which names the complication, and that whole clause is other findings'
    negative results, each named before it (:data:`_OTHER_NEGATIVE`), with an answer that is not
    the clause before's too (:func:`_answer_shared`). Where in doubt, it is the
    name's: the value is refused, as a negated HELLP read as present would advise delivery
    (this tool's rule)."""
    negative = _OTHER_NEGATIVE.get(key)
    if negative is None:
        return False
    clauses = list(_CLAUSE.finditer(name))
    return any(clause.start() <= doubt.start() and doubt.end() <= clause.end()
               and negative.fullmatch(clause.group()) is not None
               and not _answer_shared(before, clause, first=index == 0)
               for index, (before, clause) in enumerate(itertools.pairwise(clauses)))


def _answer_shared(before: re.Match[str], clause: re.Match[str], *, first: bool) -> bool:
    """Whether the answer of ``clause`` may also be that of the clause ``before`` it: a list of
    other findings (:data:`_BARE_FINDINGS`), or the complication's name alone (``first``) before
    a checklist's answer (:data:`_BARE_NAME`, :data:`_CHECKLIST`)."""
    return (_BARE_FINDINGS.fullmatch(before.group()) is not None
            or (first and _BARE_NAME.fullmatch(before.group()) is not None
                and _CHECKLIST.search(clause.group()) is not None))


def doubted_name(key: str, name: str) -> str | None:
    """The name a ``name`` of the named ``key`` stands for where it doubts itself (:data:`_DOUBT`:
    "HELLP ruled out" -> "HELLP"; "yes" where nothing else is left, "?"), read as present for
    the URGENT line its refusal keeps beside it read as absent; None where it does not doubt
    itself."""
    # Full-width forms read as their ASCII ("HELLP\uff1a0": QA 105 M1).
    name = unicodedata.normalize("NFKC", name).translate(_PUNCTUATION)
    taken = _TAKEN_DOUBTS.get(key)
    own = _DIAGNOSIS_DOUBTS[key].finditer(name) if key in _DIAGNOSIS_DOUBTS else ()
    doubts = [found for found in sorted([*_DOUBT.finditer(name), *own], key=re.Match.start)
              if not (taken and re.fullmatch(taken, found.group(), re.IGNORECASE))
              and not _another_findings(key, name, found)]
    if not doubts:
        return None
    for found in reversed(doubts):
        name = name[:found.start()] + " " + name[found.end():]
    name = re.sub(r"-\s", " ", name)  # the hyphen of a word taken off ("HELLP-negative, DIC")
    left = re.sub(r"\s+", " ", re.sub(r"[()\[\],;:\-\s]+$|^[()\[\],;:\-\s]+", "", name)).strip()
    left = re.sub(r"\s+(?=[,;])", "", left)
    return left or "yes"
