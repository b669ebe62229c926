"""Free text that doubts itself: a named answer (a drug's, an obstetric complication's) that
negates itself, dates the exposure to the past, or doubts or denies what it names, and the
clauses beside a name that are only other findings' negative results."""

from __future__ import annotations

import datetime
import itertools
import re
import unicodedata


def negates_itself(name: str) -> bool:
    """Whether a named answer starts by denying itself (:data:`_NEGATION`) or dates the
    exposure to the past (:func:`_past_exposure`)."""
    return bool(_NEGATION.match(as_read(name).strip())) or _past_exposure(name)


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
          r"not currently|not taken|not since|abstinent|d/c|dc'?d|switched|"
          r"(?<!-)(?<!year )(?<!years )(?<!yr )old|"
          r"as a child|changed to|replaced by|historical|recovered|last pregnancy|last preg")
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
#: A named answer that doubts or denies itself anywhere ("HELLP ruled out", "?HELLP", "query
#: HELLP", "pre-eclampsia excluded", "HELLP-negative", "HELLP -ve", "HELLP: no", "HELLP (no)",
#: "HELLP = 0", "HELLP: F", "HELLP (n/a)", "HELLP (0/3 criteria)", "HELLP not present", "quinine
#: denied", "HELLP risk", "HELLP prophylaxis", "HELLP pending", "HELLP vs TTP", "HELLP: NAD",
#: "HELLP -> TTP", "HELLP \u2610", "quinine allergy"): the complication or the drug is not known
#: to be present, and read as a name it was called the cause (this tool's list, grown by each
#: review: QA 92-111). Not a decimal "0,3 g", "(n/v)" or "(f/u)" (QA 105 L1, QA 106 H1). A word
#: hyphened to the one before it and followed by another qualifies the next ("Coombs-negative
#: HELLP", "a high-risk pregnancy"; QA 93 #2), not the name. "Suspected", "possible" and
#: "probable" are what the verdict calls a cause in play, so they stay the name.
_DOUBT_WORDS = (r"ruled?[\s-]*out|r/o|excluded?|neg(?:ative)?|unlikely|unconfirmed|"
                r"not[\s-]+(?:(?:yet|formally|clinically|fully|been)\s+)?(?:confirmed|present|"
                r"found|seen|suspected|likely|detected|met|supported|applicable|assessed|done|"
                r"known|diagnosed|true)|inapplicable|does\s+not\s+apply|unknown|"
                r"within\s+normal\s+limits|no\s+criteria|"
                r"absent|denie[sd]|quer(?:y|ied)|pending|vs\.?|versus|"
                r"(?:at\s+|high\s+|low\s+)?risk|prophyla(?:xis|ctic)|screen(?:ing|ed)?|"
                r"in[\s-]+error|untrue|wrong(?:ly)?|falsely|"
                r"incorrect(?:ly)?|mistaken(?:ly)?|allerg(?:y|ic)|not\s+(?:yet\s+)?started|"
                r"refused|not\s+prescribed|to\s+(?:be\s+)?confirm(?:ed)?|tbc|not\s+taking|"
                r"intoleran(?:ce|t)|declined|not\s+dispensed|non[\s-]?(?:adheren|complian)(?:t|ce)|"
                r"unsure|(?:due\s+)?to\s+start|nkda|nein|nicht|kein(?:e|en)?|sin(?=\s)|pas\s+de|"
                # QA 111: other languages' exclusions, what is only watched for or awaited, a
                # diagnosis mistaken, a drug to avoid or that harmed.
                r"ausgeschlossen|descartad[oa]|negativ[oa]?|esclus[oa]|exclue?|less\s+likely|"
                r"misdiagnos(?:ed|is)|monitor(?:ing)?\s+for|watch\s+for|y\s*/\s*n|"
                r"avoid|do\s+not\s+give|adr|sensitivity")
#: An answer of no, not applicable, not known, not done or nothing abnormal, standing as its own
#: clause or after a separator ("HELLP: NAD", "HELLP; NA", "quinine - N/K"; QA 107 H2, M1);
#: "NA" in capitals or lower case only: "Na" is sodium ("HELLP; low Na", "heparin (Na)": QA 108
#: M3, QA 110 M7).
_NO_ANSWER = (r"no|none|nil|nad|wnl|w\.n\.l\.?|nk|nd|n\s*/\s*[akd]|n\.\s*[akd]\.?|"
              r"(?-i:NA|na)")
#: A 0 that is a gestation's days, a day's number or a parity, not an answer ("34 0/7 weeks",
#: "34 + 0 weeks", "day 0 postpartum", "POD 0", "para 0", "gemcitabine day 0 of cycle 2": QA
#: 108 M3, QA 110 L).
_NOT_A_DAY = r"(?<!day )(?<!pod )(?<!para )(?<!\+ )(?<![\w+.,/])"
_DOUBT_PARTS = (
    r"[?\uff1f\ufe56]|-ve\b",
    # An answer of no ending its clause (n or f only after a separator: "28 F" is a woman of
    # 28, QA 110 M5), or 0, n, f right after a separator.
    rf"(?:[:=\-(\[,;]\s*(?:{_NO_ANSWER}|0|n|f)|\s\s*(?:{_NO_ANSWER}|{_NOT_A_DAY}0))"
    r"\)?\.?\s*(?=$|[;\])\]]|,(?!\d)|\s*\()",
    # A tick box or mark, ticked or not, or a lone dash or x for an answer ("HELLP: [ ]", "HELLP
    # \u2610", "HELLP \u2717", "HELLP (-)", "HELLP: x"): yes or no by a template nobody sees
    # here (QA 110 H1).
    r"[\u2610\u2611\u2612\u25a1\u25a0\u2713\u2714\u2715\u2716\u2717\u2718\u00d7\u00d8\u2205"
    r"\u2297\u2298\u274c\u274e\u26d4\U0001f6ab]|\[\s*x?\s*\]|\(\s*\)|"
    r"(?:[:=(\[]\s*|\s)[-x]\s*[\])]?\.?\s*(?=$|[;,)\]])",
    r"[:=(]\s*[0nf](?![\w=]|\.\d|(?<=f)/u\b|(?<=n)/v\b)",
    # "n/a" anywhere ("HELLP [n/a]", "HELLP - N.A.").
    r"(?<![\w/])n\s*/\s*a(?![\w/])|(?<![\w.])n\.\s*a\.?(?!\w)",
    # A zero count of criteria ("HELLP 0/3", "0 of 3 criteria", "0pts"; QA 107 H3).
    rf"{_NOT_A_DAY}0\s*(?:/(?!\s*7\b)|\bof\b|\bout\s+of\b)\s*\d|"
    rf"{_NOT_A_DAY}0\s*(?:criteri|pts?\b|points?\b)",
    # A 0 before the next name of a list of answers ("HELLP 0 TTP 1", "HELLP 0 / TTP 1"; QA 108
    # H2), or a no before a name answered yes ("HELLP no TTP yes"; QA 108 M1).
    rf"(?<=[^\W\d_]\s){_NOT_A_DAY}0(?=\s*[^\w\s]?\s*[^\W\d_])(?!\s*(?:weeks?|wks?|w|days?|d)\b)|"
    r"(?<![\w-])no\s+[^\W\d_][\w-]*\s*[:=]?\s*(?:yes|y|1)\b",
    r"(?<![^\W\d_])false(?![^\W\d_])",
    rf"(?<![\w-])(?:{_DOUBT_WORDS})(?![\w-])|(?<=-)(?:{_DOUBT_WORDS})(?![\w-])(?!\s+[^\W\d_])",
    # An arrow to a name: the diagnosis or the drug changed to another ("HELLP -> TTP", "HELLP
    # \u21d2 TTP"; QA 105 M1, QA 108 H2); not a trend or a dose ("plt 90->45", "AST \u2191":
    # QA 110 M1).
    r"(?:[-=~]+>|[\u2192\u21d2\u21e8\u21a6\u27f6\u27f9\u2794\u279c\u279d\u279e\u27a1\u2933])"
    r"\s*(?=[^\W\d_])",
)
_DOUBT = re.compile("|".join(_DOUBT_PARTS), re.IGNORECASE)
#: Colons and dashes that Unicode's compatibility forms leave as they are, read as ':' and '-'
#: ("HELLP ∶ 0", "HELLP ‐ no"; QA 108 M1).
_PUNCTUATION = str.maketrans({**dict.fromkeys("\u2236\ua789\u02d0", ":"),
                              **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212", "-")})
#: Words that take back a diagnosis ("HELLP, revised to TTP", "HELLP disproved"): a doubt of an
#: obstetric complication, not of a drug, whose name may carry them innocently ("tacrolimus,
#: dose revised", "graft rejected") (this tool's list; QA 103 L2, QA 105 M2: each was read as a
#: HELLP); and someone else's drug ("mother takes quinine": QA 110 H5), not of a complication,
#: which a newborn's mother had, or one only planned, awaited or contraindicated.
_KEY_DOUBTS = {
    "obstetric_complication": re.compile(
        r"(?<![^\W\d_])(?:disprov(?:ed|en)|uncertain|unproven|overturned|rejected|revised|"
        r"retracted|withdrawn|dropped|refuted|discounted|unclear|reconsidered|"
        r"unsupported|superseded)(?![^\W\d_])"
        # A complication denied after other words ("TTP not HELLP", "pre-eclampsia without
        # HELLP"), or its liver tests normal ("HELLP, LFTs normal"; QA 111).
        r"|\b(?:not|no|non|without|never|sans|sin|kein(?:e|en)?|nicht)\s+(?:an?\s+)?"
        r"(?:hellp|pre-?eclampsia|eclampsia|aflp|pet)\b|\blfts?\s+(?:normal|nad|wnl|ok)\b",
        re.IGNORECASE),
    "drug_exposure": re.compile(
        r"(?<![^\W\d_])(?:mother|father|sister|brother|husband|wife|partner|son|daughter|"
        r"family|fhx|relative|roommate|flatmate|housemate|friend|neighbou?r|never|"
        # ... planned, awaited or contraindicated, words a HELLP's care uses too ("HELLP,
        # delivery planned", "awaiting theatre", "neuraxial contraindicated": QA 114).
        r"planned|awaiting|contraindicated)(?![^\W\d_])", re.IGNORECASE)}
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
                  r"covid(?:-?19)?|sepsis|adamts-?13|stec|malaria|"
                  # An obstetric note's other tests and the blood group (QA 110 M3, L).
                  r"ctg|uss|ultrasound|dopplers?|coags?|coagulation|u\s*&\s*es?|urine|msu|"
                  r"cultures?|hvs|rh(?:esus)?|rubella|syphilis|(?:o|a|b|ab)(?=\s+(?:rh\s*)?neg)|"
                  # ... and the symptoms and signs a note says it has not.
                  r"proteinuria|seizures?|fits?|eclampsia|headaches?|visual\s+disturbances?)")
_OTHER_NEGATIVE = {
    "obstetric_complication": re.compile(
        rf"\s*{_OTHER_FINDING}(?:\s*(?:/|&|\band\b|\bor\b)\s*{_OTHER_FINDING})*"
        r"(?:\s*[-:=]\s*|\s+)(?:neg(?:ative)?|-ve|excluded|ruled[\s-]*out|unlikely|absent|"
        r"not\s+detected|no|nil|none|false|0|n\s*/\s*a|na|nad|wnl|w\.n\.l\.?|normal|"
        r"within\s+normal\s+limits|unknown|not\s+done|nd|nk|pending|less\s+likely)\.?\s*"
        # ... or denied first ("not TTP", "no DIC").
        rf"|\s*(?:not|no)\s+{_OTHER_FINDING}(?:\s*(?:/|&|\band\b|\bor\b)\s*{_OTHER_FINDING})*"
        r"\.?\s*", re.IGNORECASE),
    # What is not known or awaited of a drug taken: its dose, level, start (QA 110 M4, L).
    "drug_exposure": re.compile(
        r"\s*(?:dose|dosage|duration|levels?|trough|indication|start(?:\s+date)?|route)"
        r"(?:\s*[-:=]\s*|\s+)(?:unknown|not\s+(?:known|done)|pending|n\s*/\s*a|na|nk|nd)"
        r"\.?\s*", re.IGNORECASE)}
#: A clause that only names other findings ("DIC" of "HELLP, DIC, TTP: 0"): the answer after
#: the next may be the whole list's, the complication's too (QA 105 M1: read as a HELLP).
_BARE_FINDINGS = re.compile(
    rf"\s*{_OTHER_FINDING}(?:\s*(?:/|&|\band\b|\bor\b)\s*{_OTHER_FINDING})*\s*", re.IGNORECASE)
#: A first clause that is the complication's name alone ("HELLP", "HELLP syndrome"), and a
#: clause answered as a checklist is, with a bare no ("DIC: 0", "TTP = false"): that answer
#: may be the list's, the name's too ("HELLP, TTP: 0", "HELLP, DIC and TTP: 0": QA 108 H2, L3;
#: not a test's result, "HELLP, DAT: neg": QA 110 M2).
_BARE_NAME = re.compile(r"\s*[^\W\d_][\w-]*(?:\s+[^\W\d_][\w-]*)?\s*")
_CHECKLIST = re.compile(r"[:=]\s*(?:no|0|false|nil|none|n\s*/\s*a|na|n|f)\.?\s*$", re.IGNORECASE)
#: A clause: text between commas, semicolons and brackets.
_CLAUSE = re.compile(r"[^,;()\[\]]*\w[^,;()\[\]]*")


def _past_exposure(name: str) -> bool:
    """The name dates the exposure to the past (:data:`_PAST`, a year before this one, or a
    range of years ending before it)."""
    this_year = datetime.date.today().year
    if any(int(end) < this_year for end in _RANGE.findall(name)):
        return True
    current = _STARTED.sub("", name)
    return bool(_PAST.search(current)) or any(int(year) < this_year
                                              for year in _DATED.findall(current))


def _other_findings(key: str, name: str) -> list[re.Match[str]]:
    """The clauses of ``name`` after the first, which names the complication, that are only
    other findings' negative results, each named before it (:data:`_OTHER_NEGATIVE`), with an
    answer that is not the clause before's too (:func:`_answer_shared`): a doubt in one of them
    is another finding's. Where in doubt, it is the name's: the value is refused, as a negated
    HELLP read as present would advise delivery (this tool's rule)."""
    negative = _OTHER_NEGATIVE.get(key)
    if negative is None:
        return []
    clauses = list(_CLAUSE.finditer(name))
    return [clause for index, (before, clause) in enumerate(itertools.pairwise(clauses))
            if negative.fullmatch(clause.group()) is not None
            and not _answer_shared(key, before, clause, first=index == 0)]


def _answer_shared(key: str, before: re.Match[str], clause: re.Match[str], *,
                   first: bool) -> bool:
    """Whether the answer of ``clause`` may also be that of the clause ``before`` it, in a
    complication's list: a list of other findings (:data:`_BARE_FINDINGS`), or the
    complication's name alone (``first``) before a checklist's answer (:data:`_BARE_NAME`,
    :data:`_CHECKLIST`)."""
    return key == "obstetric_complication" and (
        _BARE_FINDINGS.fullmatch(before.group()) is not None
        or (first and _BARE_NAME.fullmatch(before.group()) is not None
            and _CHECKLIST.search(clause.group()) is not None))


def without_other_findings(key: str, name: str) -> str:
    """``name`` without its clauses after the first that are only other findings' negative
    results, each named first (:data:`_OTHER_NEGATIVE`: "HELLP, Coombs-negative, TTP
    excluded" -> "HELLP"), as the reader takes them; the rest as written."""
    for clause in reversed(_other_findings(key, name)):
        name = name[:clause.start()] + name[clause.end():]
    return name


def as_read(name: str) -> str:
    """``name`` as the reader reads free text: full-width and other compatibility forms as their
    ASCII (NFKC: "HELLP\uff1a0", QA 105 M1), and the colons and dashes those leave as they are
    as ':' and '-' (:data:`_PUNCTUATION`)."""
    return unicodedata.normalize("NFKC", name).translate(_PUNCTUATION)


def doubted_name(key: str, name: str) -> str | None:
    """The name a ``name`` of the named ``key`` stands for where it doubts itself (:data:`_DOUBT`:
    "HELLP ruled out" -> "HELLP"; "yes" where nothing else is left, "?"), read as present for
    the URGENT line its refusal keeps beside it read as absent; None where it does not doubt
    itself."""
    name = as_read(name)
    taken = _TAKEN_DOUBTS.get(key)
    own = _KEY_DOUBTS[key].finditer(name) if key in _KEY_DOUBTS else ()
    others = _other_findings(key, name)
    doubts = [found for found in sorted([*_DOUBT.finditer(name), *own], key=re.Match.start)
              if not (taken and re.fullmatch(taken, found.group(), re.IGNORECASE))
              and not any(clause.start() <= found.start() and found.end() <= clause.end()
                          for clause in others)]
    if not doubts:
        return None
    for found in reversed(doubts):
        name = name[:found.start()] + " " + name[found.end():]
    name = re.sub(r"-\s", " ", name)  # the hyphen of a word taken off ("HELLP-negative, DIC")
    left = re.sub(r"\s+", " ", re.sub(r"[()\[\],;:\-\s]+$|^[()\[\],;:\-\s]+", "", name)).strip()
    left = re.sub(r"\s+(?=[,;])", "", left)
    return left or "yes"
