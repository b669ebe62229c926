"""Drugs that cause TMA, and which of them a recorded ``drug_exposure`` names.

This tool's list (not exhaustive), with the reviews it comes from; a drug outside it is not
called a cause.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

#: Drugs with reported evidence of causing TMA: generic name -> fragments matched inside the
#: recorded name (lower case: the generic name's stem, so that spellings such as "gemcitabin"
#: match, brand names and regimens that contain the drug). This tool's list, not exhaustive.
#: Quinine, ciclosporin and tacrolimus were most of the reports with definite evidence
#: (Al-Nouri 2015); gemcitabine, pentostatin, oxaliplatin, quinine and vancomycin were definite
#: in the Oklahoma and Wisconsin series (Reese 2015); mitomycin C, VEGF inhibitors, interferon,
#: carfilzomib and the thienopyridines are named in the same reviews. A name outside the list is
#: not called a cause: it may be the patient's cancer treatment (seed 000).
DRUGS_CAUSING_TMA: dict[str, tuple[str, ...]] = {
    "quinine": ("quinin", "qualaquin", "tonic water"),
    "ciclosporin": ("ciclospor", "cyclospor", "neoral", "sandimmun"),
    "tacrolimus": ("tacrolim", "prograf", "advagraf", "envarsus", "fk506", "fk-506", "fk 506"),
    "gemcitabine": ("gemcitab", "gemzar"),
    "mitomycin C": ("mitomycin", "mutamycin"),
    "oxaliplatin": ("oxaliplat", "eloxatin", "folfox", "folfirinox", "xelox", "capox"),
    "pentostatin": ("pentostat", "nipent"),
    "vancomycin": ("vancomyc", "vancocin"),
    "bevacizumab": ("bevacizu", "avastin"),
    "VEGF tyrosine-kinase inhibitors": ("sunitinib", "sutent", "sorafenib", "nexavar",
                                        "pazopanib", "votrient"),
    "other VEGF inhibitors": ("aflibercept", "zaltrap", "ramucirumab", "cyramza"),
    "interferon": ("interferon",),
    "carfilzomib": ("carfilzomib", "kyprolis"),
    "ticlopidine": ("ticlopid", "ticlid"),
    "clopidogrel": ("clopidog", "plavix"),
}

#: Abbreviations of drugs of :data:`DRUGS_CAUSING_TMA` in oncology notes, matched as whole
#: words only ("gem" inside "gemfibrozil" names no gemcitabine): GEM and regimens named after it
#: (GemCis, GemCarbo), MMC for mitomycin C (QA 30 N3: "MMC" ranked below the cancer it causes
#: TMA in). This tool's list.
DRUG_ABBREVIATIONS: dict[str, tuple[str, ...]] = {
    "gemcitabine": ("gem", "gemcis", "gemcarbo", "gemcap"),
    "mitomycin C": ("mmc",),
}

#: Drugs of :data:`DRUGS_CAUSING_TMA` that trigger an immune, ADAMTS13-deficient TTP, which
#: plasma exchange treats: the thienopyridines (Bennett CL, et al. Ann Intern Med
#: 1998;128:541-544; N Engl J Med 2000;342:1773-1777). The others cause TMA by direct toxicity
#: or drug-dependent antibodies, which stopping the drug treats.
DRUGS_TRIGGERING_TTP = ("ticlopidine", "clopidogrel")

#: Drugs of :data:`DRUGS_CAUSING_TMA` that keep a transplant: a recorded transplant's own step
#: asks for their level and dose with the transplant team, which a bare "stop ... and do not
#: re-expose" beside it would contradict (QA 93 #4; this tool's rule); the drug cause reviews
#: them with the team instead (:func:`~smearscan.verdict.differential.drug.drugs_kept`). The
#: mTOR inhibitors (sirolimus, everolimus) are not on this tool's list of drugs causing TMA.
TRANSPLANT_IMMUNOSUPPRESSANTS = ("ciclosporin", "tacrolimus")

#: Drugs of :data:`DRUGS_CAUSING_TMA` given to treat a cancer: beside a cancer in the marrow,
#: which causes a MAHA itself, stopping one is the oncologist's call (seed 000; QA 64 F3). The
#: others (quinine, ciclosporin, tacrolimus, vancomycin, the thienopyridines) are stopped with
#: their prescribing team whatever the smear shows (QA 66 N1).
CANCER_TREATMENTS = ("gemcitabine", "mitomycin C", "oxaliplatin", "pentostatin", "bevacizumab",
                     "VEGF tyrosine-kinase inhibitors", "other VEGF inhibitors", "interferon",
                     "carfilzomib")


#: Heparins (unfractionated and low-molecular-weight: generic and brand names and ward
#: spellings, lower case, matched inside the recorded name; abbreviations as whole words):
#: recorded beside a thrombocytopenia, a heparin-induced thrombocytopenia is excluded (Cuker A,
#: et al. Blood Adv 2018;2:3360-3392). This tool's list; fondaparinux, which seldom causes it,
#: is left out (QA 157 M-2: LMWH, UFH, Hep-lock and three LMWHs were not read).
HEPARINS = ("heparin", "hep-lock", "heplock", "hep lock", "hep flush", "hepsal", "calciparin",
            "enoxaparin", "dalteparin", "tinzaparin", "nadroparin", "certoparin", "bemiparin",
            "parnaparin", "reviparin", "clexane", "lovenox", "inhixa", "fragmin", "innohep",
            "fraxiparin")
HEPARIN_ABBREVIATIONS = ("lmwh", "ufh")
#: Phrases that name no heparin given, taken out before :data:`HEPARINS` is matched (QA 158
#: M-6: a heparinoid, danaparoid among them, itself a treatment of HIT, and a heparin-free
#: dialysis were read as heparins). Negations ('no heparin', 'heparin stopped') are refused by
#: the lab values' reader.
NOT_HEPARINS = ("heparin-free", "heparin free", "instead of heparin", "heparinoid",
                "danaparoid")


def heparin_named(drug: bool | str | None) -> bool:
    """Whether a recorded ``drug_exposure`` names a heparin of :data:`HEPARINS` or
    :data:`HEPARIN_ABBREVIATIONS`, :data:`NOT_HEPARINS` left out."""
    if not isinstance(drug, str):
        return False
    name = drug.lower()
    for phrase in NOT_HEPARINS:
        name = name.replace(phrase, " ")
    return (any(fragment in name for fragment in HEPARINS)
            or bool(set(re.findall(r"[a-z0-9]+", name)) & set(HEPARIN_ABBREVIATIONS)))


def tma_drugs_named(drug: bool | str | None) -> set[str]:
    """The generic names of :data:`DRUGS_CAUSING_TMA` that a recorded ``drug_exposure`` names
    (any spelling that contains one of their fragments, or one of their
    :data:`DRUG_ABBREVIATIONS` as a word). A bare ``True`` names none, nor does none recorded."""
    if not isinstance(drug, str):
        return set()
    name = drug.lower()
    words = set(re.findall(r"[a-z0-9]+", name))
    return {generic for generic, fragments in DRUGS_CAUSING_TMA.items()
            if any(fragment in name for fragment in fragments)
            or words & set(DRUG_ABBREVIATIONS.get(generic, ()))}


def known_tma_drug(drug: bool | str) -> bool:
    """Whether a recorded ``drug_exposure`` names a drug of :data:`DRUGS_CAUSING_TMA`. A bare
    ``True`` names none: it is checked, not stopped, as a lab user on a cancer treatment may
    answer yes (seed 000's trap: the anaemia blamed on chemotherapy)."""
    return bool(tma_drugs_named(drug))


def ttp_triggers(drugs: Iterable[str]) -> list[str]:
    """The drugs of ``drugs`` (generic names) that :data:`DRUGS_TRIGGERING_TTP` lists, sorted."""
    return sorted(set(drugs) & set(DRUGS_TRIGGERING_TTP))


def ttp_triggering_drug(drug: bool | str) -> bool:
    """Whether a recorded ``drug_exposure`` names a drug of :data:`DRUGS_TRIGGERING_TTP`."""
    return bool(ttp_triggers(tma_drugs_named(drug)))


def cancer_treatment(drug: bool | str) -> bool:
    """Whether every listed drug a recorded ``drug_exposure`` names is one of
    :data:`CANCER_TREATMENTS` (and it names one)."""
    named = tma_drugs_named(drug)
    return bool(named) and named <= set(CANCER_TREATMENTS)
