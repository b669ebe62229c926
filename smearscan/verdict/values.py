"""Every cut-off the verdict applies, with its source.

This module owns the verdict's thresholds: each is a constant here and a :class:`Rule` in
:data:`RULES`, which says whether it is a published standard (with the citation) or this tool's
own rule (with why). The README's rule table is :func:`rules_markdown`. The schistocyte call and
its ICSH constants are not here: :mod:`smearscan.slide_stats` owns them and the verdict takes the
call as given.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from smearscan.labs import (
    ADAMTS13_UNDETECTABLE,
    B12_PMOL_PER_PG,
    D_DIMER_RATIO_RANGE,
    FOLATE_NMOL_PER_NG,
    HAPTOGLOBIN_UNDETECTABLE,
    PT_CONTROL_S,
    PT_INR_MARGIN,
    PT_ISI,
    greatest_inr,
    ldh_top_limit,
    least_inr,
)
from smearscan.slide_stats import (
    LESS_SPECIFIC_GRADE,
    LIMIT_PERCENT,
    REQUIRED_RBC,
    SOFT_EDGE_WIDTH_UM,
)

__all__ = ["RULES", "Rule", "rules_digest", "rules_markdown"]

# Sources, cited wherever a rule is shown.

ICSH = "ICSH 2021 (Zini G, et al. Int J Lab Hematol 2021;43:1264-1271)"
ICSH_2015 = "ICSH 2015 (Palmer L, et al. Int J Lab Hematol 2015;37:287-303)"
PLASMIC = "PLASMIC score (Bendapudi PK, et al. Lancet Haematol 2017;4(4):e157-e164)"
#: A note of PLASMIC for a population other than adults, and the reason TTP's assessment gives
#: where the score alone would have made TTP suspected (this tool's rule).
PLASMIC_NOT_VALIDATED = ("derived and validated in adults: for a neonate, or a child with "
                         "diarrhoea, a creatinine over a child's upper limit or none given, or "
                         "another TMA's cause recorded (a transplant, malignant hypertension, "
                         "systemic sclerosis, a drug), it can raise suspicion of TTP, not make "
                         "it the leading cause (this tool's rule)")
#: Why a newborn's PLASMIC under 5 does not set TTP aside beside a MAHA picture with
#: thrombocytopenia (this tool's rule; QA 124 H2: 8% schistocytes, platelets 40 and INR 1.6 read
#: PLASMIC 4, "TTP unlikely", and no URGENT line for a newborn).
NEWBORN_LOW_PLASMIC = ("a newborn's MCV, about 106 fL at term, seldom scores PLASMIC's MCV < "
                       "90 fL point: a low PLASMIC does not set TTP aside for a newborn, whose "
                       "congenital TTP can present at birth (this tool's rule)")
ISTH_DIC = ("ISTH overt DIC score, 2025 update (Iba T, et al. J Thromb Haemost "
            "2025;23(7):2356-2362)")
#: The differential's line where MAHA is likely and none of its causes is in play.
UNEXPLAINED_MAHA = ("no cause this tool weighs is in play while MAHA is likely: the MAHA is "
                    "unexplained here, not excluded; review the smear, the history and the "
                    "causes marked unlikely with haematology, and repeat the work-up as it "
                    "evolves (this tool's rule)")
#: The ISTH algorithm the 2025 update revises: a score under 5 "suggestive (not affirmative)
#: for non-overt DIC: repeat next 1-2 days" (CLINICAL.md cites it as the one updated).
ISTH_ALGORITHM = "ISTH 2001 (Taylor FB Jr, et al. Thromb Haemost 2001;86:1327-1330)"
FRENCH = "French TMA score (Coppo P, et al. PLoS One 2010;5(4):e10208)"
TTP_OUTCOMES = ("ISTH working group's TTP outcome definitions (Cuker A, et al. Blood "
                "2021;137(14):1855-1861)")
ISTH_TTP = ("ISTH 2020 TTP guidelines (Zheng XL, et al. J Thromb Haemost 2020;18:2486-2495 "
            "and 2496-2502)")
WHO_ANAEMIA = ("WHO 2011 (Haemoglobin concentrations for the diagnosis of anaemia, "
               "WHO/NMH/NHD/MNM/11.1)")
BSH_COBALAMIN = "BSH 2014 (Devalia V, et al. Br J Haematol 2014;166:496-513)"
DRUG_TMA = "Al-Nouri ZL, et al. Blood 2015;125:616-618"
KDIGO_AKI = "KDIGO 2012 acute kidney injury guideline (Kidney Int Suppl 2012;2:1-138)"
#: The thienopyridines trigger an immune, ADAMTS13-deficient TTP.
THIENOPYRIDINE_TTP = ("Bennett CL, et al. Ann Intern Med 1998;128:541-544; N Engl J Med "
                      "2000;342:1773-1777")
DRUG_TMA_REGISTRY = "Reese JA, et al. Am J Hematol 2015;90:406-410"
SEED_000 = "seed 000 (cancer-associated MAHA in breast cancer; CLINICAL.md)"
SEED_002 = "seed 002 (bone-marrow metastasis of breast cancer; CLINICAL.md)"
SEED_003 = "seed 003 (cytopenias with high B12 in a breast-cancer survivor; CLINICAL.md)"

# Cut-offs, each with its source or why it is this tool's own.

PLASMIC_PLATELETS = 30.0  # x10^9/L, point when below
PLASMIC_RETICULOCYTES = 2.5  # %, haemolysis when above
PLASMIC_INDIRECT_BILIRUBIN = 2.0  # mg/dL, haemolysis when above
PLASMIC_MCV = 90.0  # fL, point when below
PLASMIC_INR = 1.5  # point when below
PLASMIC_CREATININE = 2.0  # mg/dL, point when below
PLASMIC_HIGH = 6  # total at or above: high risk
PLASMIC_INTERMEDIATE = 5

ISTH_OVERT_DIC = 5  # total at or above: compatible with overt DIC
ISTH_FIBRINOGEN = 1.0  # g/L, point when below
ISTH_PT_S = (3.0, 6.0)  # s over control: 1 point from the first, 2 from the second
ISTH_PLATELETS = (100.0, 50.0)  # x10^9/L: 1 point under the first, 2 under the second
ISTH_D_DIMER_ULN = (3.0, 7.0)  # x ULN: 2 points over the first, 3 over the second

FRENCH_PLATELETS = 30.0  # x10^9/L, criterion when at or below
FRENCH_CREATININE_UMOL = 200.0  # umol/L (2.26 mg/dL), criterion when at or below
FRENCH_BOTH = 2  # both criteria: the highest probability of severe ADAMTS13 deficiency
UMOL_PER_MG_DL_CREATININE = 88.4  # CLINICAL.md, "Units"

ADAMTS13_SEVERE = 10.0  # %, below: severe deficiency, supports TTP (ISTH 2020)
ADAMTS13_NEGATIVE = 20.0  # %, above: a negative result, consider other diagnoses (ISTH 2020)

HAPTOGLOBIN_LOW = 0.3  # g/L, used only when the lab's own lower limit is not given
INDIRECT_BILIRUBIN_ULN = 1.0  # mg/dL
RETICULOCYTES_RAISED = PLASMIC_RETICULOCYTES  # %
HAEMOLYSIS_MARKERS = 2  # raised markers for "haemolysis present"
PLATELETS_LOW = 150.0  # x10^9/L
#: x10^9/L, under: a thrombocytopenia without MAHA is urgent (ASH 2019 suggests treating a
#: newly diagnosed adult ITP under 30, and admitting it under 20: Neunert C, et al. Blood Adv
#: 2019;3:3829-3866). PLASMIC's own cut, so that a platelet bound ('<30') reads one way.
ITP_TREATMENT_PLATELETS = PLASMIC_PLATELETS
#: x10^9/L, under: with a pregnancy recorded, a severe feature of pre-eclampsia (ACOG Practice
#: Bulletin 222, Obstet Gynecol 2020;135:e237-e260) and HELLP's count (Sibai 2004), urgent
#: with the obstetric team. ISTH's own cut, so that a platelet bound reads one way.
OBSTETRIC_SEVERE_PLATELETS = ISTH_PLATELETS[0]
WBC_LOW = 4.0  # x10^9/L
HEMOGLOBIN_LOW = {"male": 13.0, "female": 12.0, "pregnancy": 11.0}  # g/dL, WHO 2011
HEMOGLOBIN_LOW_UNKNOWN_SEX = 12.0  # g/dL, the women's limit when sex is not given
HUS_CREATININE = PLASMIC_CREATININE  # mg/dL, at or above: an acute kidney injury pattern
#: A creatinine this many times the lab's own upper limit is a kidney injury pattern too, under
#: 2 mg/dL (a child's or a pregnant woman's limit): KDIGO stage 2 is 2.0-2.9x the baseline, and
#: a baseline under the limit puts this at stage 2 or more (this tool's rule; QA 53 H2: 1.4 mg/dL
#: against a child's 0.5 was read as raised but under 2, and scored PLASMIC's renal point).
AKI_ULN_MULTIPLE = 2.0
#: mg/dL, above: raised in an adult woman / man (88 / 115 umol/L; this tool's rule: the usual
#: upper reference limits); without the sex, the women's (the lower, the safer for HUS). Between
#: it and :data:`HUS_CREATININE` HUS stays possible: without a baseline a rise cannot be judged.
CREATININE_RAISED = {"female": 1.0, "male": 1.3}
#: mg/dL, under: a lab's creatinine limit (creatinine_uln) no adult's is outside pregnancy
#: (adult women's ~0.8-1.1), a child's (~0.3-0.7 by age): the verdict asks whether the
#: patient is a child (this tool's rule; QA 59 #5: a child judged as an adult gave no hint).
CHILD_CREATININE_ULN = 0.7
#: mg/dL, at or over: a child's kidney injury where the lab's limit is not given, twice
#: :data:`CHILD_CREATININE_ULN` (as twice a lab's limit is, :data:`AKI_ULN_MULTIPLE`); one rule
#: for the drug and HUS causes (this tool's rule).
CHILD_INJURY_CREATININE = AKI_ULN_MULTIPLE * CHILD_CREATININE_ULN

MACROCYTOSIS_MCV = 100.0  # fL, above: macrocytosis
NORMAL_HAEMATOCRIT = 45.0  # %, of the corrected reticulocyte count (% x Hct / 45)
#: Below: deficiency (BSH 2014). Applied in these units: a result in pmol/L or nmol/L is
#: converted first, so the SI cut-offs are 147.6 pmol/L and 6.8 nmol/L, which BSH rounds to
#: 148 and 7 (QA 63 M1: the table said 148 and 7).
B12_DEFICIENT = 200.0  # pg/mL
FOLATE_DEFICIENT = 3.0  # ng/mL


@dataclass(frozen=True)
class Rule:
    """One rule the verdict applies.

    Attributes
    ----------
    topic : str
        What the rule decides.
    value : str
        The cut-off or criterion, in words.
    kind : str
        ``"standard"`` (a published standard), ``"lab"`` (the laboratory's own reference
        limit, given with the values) or ``"tool"`` (this tool's own rule).
    source : str
        The citation of a standard, or where the rule comes from and why.
    """

    topic: str
    value: str
    kind: str
    source: str

    @property
    def label(self) -> str:
        """``"standard: <citation>"``, ``"lab's limit: ..."`` or ``"this tool's rule: <why>"``."""
        return f"{_KIND_LABELS[self.kind]}: {self.source}"


_KIND_LABELS = {"standard": "standard", "lab": "lab's own limit", "tool": "this tool's rule"}


def _rule(topic: str, value: str, source: str, *, standard: bool = True) -> Rule:
    return Rule(topic, value, "standard" if standard else "tool", source)


ADULT_LIMIT = LIMIT_PERCENT["adult"]

SCHISTOCYTE_RULE = _rule(
    "schistocyte call", f"> {ADULT_LIMIT:g}% of >= {REQUIRED_RBC} red cells (adults, term "
    f"neonates; {LIMIT_PERCENT['preterm']:g}% preterm), made by smearscan.slide_stats on the "
    "classifier-corrected interval; taken as given; a percentage given without its count is "
    f"read with the interval of {REQUIRED_RBC} cells (this tool's rule)", ICSH)
CHILD_SCHISTOCYTE_RULE = _rule(
    "schistocyte call, children", f"> {LIMIT_PERCENT['child']:g}% of >= {REQUIRED_RBC} red "
    "cells past the neonatal period, as the schistocyte call", f"{ICSH} gives none for "
    "children: the limit of adults and term neonates, the ages on either side", standard=False)
LESS_SPECIFIC_RULE = _rule(
    "schistocyte count less specific", f"another poikilocyte graded {LESS_SPECIFIC_GRADE} or "
    f"more ({ICSH_2015}) beyond counting error (the lower bound of its 95% interval), graded on "
    "the whole red cells clear of others, at least 100 of them, made by smearscan.slide_stats; "
    "taken as given",
    f"{ICSH}: the schistocyte count is reliable only where schistocytes are the main "
    f"abnormality; its grades: {ICSH_2015}; beyond counting error, the cells graded: this "
    "tool's", standard=False)
FOCUS_RULE = _rule(
    "schistocyte count out of focus", f"median red-cell edge width over the slide's fields > "
    f"{SOFT_EDGE_WIDTH_UM:.1f} um: a count within the limit (below it, or its % at or under it "
    "with the interval reaching it) gets no call (insufficient data); a count above it stands; "
    "made by smearscan.slide_stats",
    "defocus hides schistocytes: on held-out Chula fields blurred by 0.3 and 0.4 um (edges "
    "0.91 and 1.10 um wide on median) the classifier's sensitivity fell from 0.62 to 0.50 and "
    "0.38", standard=False)
#: The 1.15x is smearscan.segmentation's DOUBTFUL_SCALE, not imported: the verdict command does
#: not load the segmentation (a test pins the two together).
SCALE_RULE = _rule(
    "schistocyte count at a scale in doubt", "a declared pixel size the slide marks in doubt "
    "(more than 1.15x off the slide's own estimate, or its median red cell more than 1.15x off "
    "7.5 um at it) and not trusted (--trust-pixel-size): a count within the limit (below it, or "
    "its % at or under it with the interval reaching it) gets no call (insufficient data); a "
    "count above it stands, the doubt beside it; made by smearscan.slide_stats",
    "the count moves steeply with the scale: a Chula slide of 1.29% labelled schistocytes read "
    "0.44% at its own 0.20 um/px and 6.1% declared at 0.15 (QA 65)", standard=False)
LDH_RULE = Rule("LDH raised", "above the lab's own upper limit of normal (ldh_uln)", "lab",
                "the lab's reference interval; an LDH without it, or that it cannot judge, is "
                "refused")
LDH_NO_LIMIT_RULE = _rule(
    "LDH raised, no lab limit given", f"over {ldh_top_limit('adult'):g} U/L (a newborn's "
    f"{ldh_top_limit('neonate'):g} U/L): over every upper limit of normal this tool accepts for "
    "the patient's age; a lower LDH without its limit is refused",
    "adult assays ~190-620 U/L by method, a child's up to ~1000 U/L (smearscan.labs."
    "LDH_ULN_MAX), a newborn's higher", standard=False)
HAPTOGLOBIN_LAB_RULE = Rule("haptoglobin low", "below the lab's own lower limit "
                            "(haptoglobin_lln)", "lab", "the lab's reference interval")
HAPTOGLOBIN_RULE = _rule(
    "haptoglobin low, no lab limit given", f"< {HAPTOGLOBIN_LOW:g} g/L", "a common lower "
    "reference limit (Mayo Clinic Laboratories 30-200 mg/dL), used only when the lab's own is "
    "not given", standard=False)
RETICULOCYTE_RULE = _rule("reticulocytes raised", f"> {RETICULOCYTES_RAISED:g}%",
                          f"the cut-off of the haemolysis criterion of the {PLASMIC}, used as "
                          "the reference limit", standard=False)
BILIRUBIN_RULE = _rule("indirect bilirubin raised", f"> {INDIRECT_BILIRUBIN_ULN:g} mg/dL",
                       "a common upper reference limit (seed 000's laboratory: 0.2-1 mg/dL)",
                       standard=False)
#: A newborn's haemolysis markers that its physiology moves past this tool's adult cut-offs in
#: the first days, with the range and its source. Judged against those cut-offs all the same:
#: the day-1 values of a haemolysis are the physiological ones of a few days later, and this
#: tool does not know the age in hours they are judged by; a newborn cut-off without it lost
#: the URGENT line of newborn TMAs (QA 124 H1, QA 125 H1: bilirubin 10 mg/dL on day 1,
#: reticulocytes 5% at day 10), where the adult cut-offs alert for a well baby too (QA 122
#: H1). Where they show haemolysis, the verdict says so against it (:data:`NEWBORN_RULE`).
NEWBORN_MARKERS = {
    "haptoglobin": "undetectable or low in most newborns until months of age (a newborn's "
                   "reference range 0-0.1 g/L: Medscape, Haptoglobin, emedicine article "
                   "2085592)",
    "reticulocytes": "2-8% in the first 24 hours, falling to about 1% within the first weeks "
                     "(Current Diagnosis & Treatment: Pediatrics, 27th ed., 2025, Hematologic "
                     "Disorders); higher preterm",
    "indirect_bilirubin": "a physiological jaundice rises over the first days, judged by age in "
                          "hours (Bhutani VK, et al. Pediatrics 1999;103:6-14, 35 weeks or "
                          "more; lower thresholds preterm)",
}
#: The tops of a newborn's physiological ranges (% reticulocytes, mg/dL indirect bilirubin): a
#: value over them is not said to be possibly physiological (QA 127 M2: reticulocytes of 15%
#: and bilirubin of 22 mg/dL were); they decide nothing else. Reticulocytes: 2-8% in the first
#: 24 hours (Current Diagnosis & Treatment: Pediatrics, 27th ed., 2025); bilirubin: about the
#: highest 95th percentile of the hour-specific nomogram (Bhutani VK, et al. Pediatrics
#: 1999;103:6-14). This tool's rule.
NEWBORN_PHYSIOLOGICAL_TOPS = {"reticulocytes": 8.0, "indirect_bilirubin": 17.0}
#: A newborn's MCV, over the adult macrocytosis cut-off: not read as macrocytosis.
NEWBORN_MCV = ("a newborn's MCV is about 106 fL at term and higher preterm (Christensen RD, et "
               "al. J Perinatol 2008;28:24-28): not read as macrocytosis")
#: Why a child's low haptoglobin may not show haemolysis: an infant's stays low for months
#: (QA 124 M6: the newborn's caveat stopped at day 28).
INFANT_HAPTOGLOBIN = ("an infant's haptoglobin stays low for its first months (adult levels "
                      "by about 4 months: Medscape, Haptoglobin, emedicine article 2085592; "
                      "not measurable until about 6 months by some assays: St Boniface "
                      "Hospital laboratory manual, haptoglobin)")
NEWBORN_RULE = _rule(
    "a newborn's haemolysis markers and MCV", "haptoglobin, reticulocytes and indirect "
    "bilirubin judged against the adult cut-offs, and where they show haemolysis within a "
    "newborn's physiological range (reticulocytes up to 8%, bilirubin up to 17 mg/dL; a "
    "haptoglobin judged by this tool's limit, not the lab's), said against it: a newborn's may "
    "be physiological (a child's low haptoglobin too, if an infant: it stays low for months); "
    "the caveat decides nothing; MCV not read as macrocytosis",
    "; ".join(f"{key}: {why}" for key, why in {**NEWBORN_MARKERS, "mcv": NEWBORN_MCV,
                                                "infant haptoglobin": INFANT_HAPTOGLOBIN}.items())
    + "; without the age in hours a newborn's cut-off would miss a first day's haemolysis: "
    "the adult cut-offs err towards alerting", standard=False)
HAEMOLYSIS_RULE = _rule(
    "haemolysis present", f">= {HAEMOLYSIS_MARKERS} raised markers of LDH, haptoglobin, "
    "reticulocytes, indirect bilirubin", "LDH alone is raised by any tissue damage (marrow or "
    "liver metastases, seed 002)", standard=False)
PLATELET_RULE = _rule("thrombocytopenia", f"platelets < {PLATELETS_LOW:g} x10^9/L",
                      "a common lower reference limit (seed 000's laboratory: 150-450)",
                      standard=False)
THROMBOCYTOPENIA_RULE = _rule(
    "thrombocytopenia without MAHA", f"platelets < {PLATELETS_LOW:g} x10^9/L with MAHA and TTP "
    "unlikely -> possible: confirm the count (an EDTA pseudo-thrombocytopenia), then its cause, "
    "immune thrombocytopenia a diagnosis of exclusion; under "
    f"{ITP_TREATMENT_PLATELETS:g} -> urgent; with a pregnancy recorded its own "
    "thrombocytopenias named (gestational thrombocytopenia only from "
    f"{OBSTETRIC_SEVERE_PLATELETS:g}), and under {OBSTETRIC_SEVERE_PLATELETS:g} -> urgent "
    "with the obstetric team (a severe feature of pre-eclampsia); not listed with a positive "
    "DAT (Evans syndrome), a likely or suspected DIC, or for a newborn",
    "Provan D, et al. Blood Adv 2019;3:3780-3817 (the film and a citrate count for "
    "pseudo-thrombocytopenia; ITP a diagnosis of exclusion); Neunert C, et al. Blood Adv "
    f"2019;3:3829-3866 (ASH 2019: a newly diagnosed adult ITP treated under "
    f"{ITP_TREATMENT_PLATELETS:g}, admitted under 20); ACOG Practice Bulletin 222, Obstet "
    "Gynecol 2020;135:e237-e260 (platelets under 100 a severe feature of pre-eclampsia)",
    standard=False)
HIT_RULE = _rule(
    "heparin-induced thrombocytopenia", f"platelets < {PLATELETS_LOW:g} x10^9/L with a heparin "
    "recorded (this tool's list, in drug_exposure; a heparinoid or a heparin-free procedure "
    "not) -> possible, urgent, whatever else is in play, not for a newborn: its 4Ts score; "
    "unless it is low, stop all heparin and weigh a non-heparin anticoagulant against the "
    "bleeding risk with haematology; no platelet transfusion unless bleeding, but beside a TTP "
    "in play its action leaves platelets to the URGENT line and defers to it; with TTP not in "
    "play led by the low count's own urgent step; beside a TTP not assessed ADAMTS13 asked; "
    "without an URGENT line its first step added to another cause's Next line",
    "Cuker A, et al. Blood Adv 2018;2:3360-3392 (ASH 2018: heparin-induced thrombocytopenia)",
    standard=False)
WBC_RULE = _rule("leukopenia", f"WBC < {WBC_LOW:g} x10^9/L",
                 "a common lower reference limit (seed 000's laboratory: 4-11)", standard=False)
ANAEMIA_RULE = _rule(
    "anaemia", "Hb < 13 g/dL men, < 12 g/dL non-pregnant women, < 11 g/dL in pregnancy",
    WHO_ANAEMIA)
ANAEMIA_UNKNOWN_SEX_RULE = _rule(
    "anaemia, sex not given", f"Hb < {HEMOGLOBIN_LOW_UNKNOWN_SEX:g} g/dL; Hb 12-13 g/dL is "
    "listed as needing the sex", "the WHO limit for women, so that no woman is called "
    "anaemic wrongly; a man at 12-13 g/dL is flagged instead", standard=False)
MAHA_RULE = _rule(
    "MAHA", "schistocytes above the limit + haemolysis present + DAT negative, the count not "
    "flagged less specific and no megaloblastic anaemia suspected -> likely; above otherwise, "
    "the % above the limit with its interval "
    "spanning it, or fewer than 1000 red cells counted with the interval above the limit (or "
    "the % above it and the interval spanning it) -> possible, but the % above the limit with "
    "its interval spanning it is unlikely with haemolysis excluded and the LDH measured and "
    "normal; the % at or under the limit, whatever its interval (ICSH reads the percentage), "
    "is read as at or under it when its reading at the classifier's whole-field rates is too "
    "(else as above the limit with its interval spanning it), but where its interval reaches "
    "the limit it is unlikely only with haemolysis excluded and the LDH measured and normal, "
    "or with the platelets measured and not low and neither diarrhoea nor a kidney injury "
    "(creatinine >= 2 mg/dL or 2x the lab's limit) recorded (else insufficient data); at or "
    "under the limit with "
    "haemolysis present and thrombocytopenia (DAT not positive) -> possible, never unlikely; "
    "with haemolysis present, not measured, or one raised marker with fewer than two normal "
    "ones, or one raised marker against two normal ones with no LDH, platelets low or "
    "unknown -> insufficient data; so too with no LDH measured and platelets low or unknown, "
    "whatever the other markers show; "
    f"with a positive DAT, haemolysis not shown absent, platelets under {PLASMIC_PLATELETS:g} "
    "(or not given, with haemolysis present) and PLASMIC reaching "
    f"{PLASMIC_HIGH} (TTP not excluded) -> insufficient data; "
    "else unlikely; fewer than 1000 red cells counted, at or under the limit -> insufficient "
    "data, but unlikely with haemolysis excluded (none, or one raised marker against two "
    "normal ones; a low haptoglobin only beside a measured LDH) and the LDH measured and "
    "normal; a percentage given without its count, haemolysis excluded but the LDH not "
    "normal -> insufficient data",
    f"MAHA is a laboratory constellation in which schistocytes are one marker ({ISTH_TTP}; "
    f"{ICSH})", standard=False)
PLASMIC_RULE = _rule(
    "PLASMIC", f"1 point each: platelets < {PLASMIC_PLATELETS:g}; haemolysis (reticulocytes > "
    f"{PLASMIC_RETICULOCYTES:g}%, undetectable haptoglobin, indirect bilirubin > "
    f"{PLASMIC_INDIRECT_BILIRUBIN:g} mg/dL); no active cancer; no transplant; MCV < "
    f"{PLASMIC_MCV:g} fL; INR < {PLASMIC_INR:g}; creatinine < {PLASMIC_CREATININE:g} mg/dL. "
    "0-4 low, 5 intermediate, 6-7 high", PLASMIC)
UNDETECTABLE_RULE = _rule(
    "haptoglobin undetectable (PLASMIC)", "reported under the lab's assay range (a bound at or "
    f"under the low limit, such as '<0.3 g/L', or a word such as 'undetectable', read as "
    f"< {HAPTOGLOBIN_UNDETECTABLE:g} g/L), or measured < {HAPTOGLOBIN_UNDETECTABLE:g} g/L",
    "the usual detection limit of immunoturbidimetric assays", standard=False)
ISTH_DIC_RULE = _rule(
    "ISTH overt DIC", f"platelets >= {ISTH_PLATELETS[0]:g}/{ISTH_PLATELETS[1]:g}-"
    f"<{ISTH_PLATELETS[0]:g}/<{ISTH_PLATELETS[1]:g} -> 0/1/2; D-dimer x ULN "
    f"<= {ISTH_D_DIMER_ULN[0]:g}/>{ISTH_D_DIMER_ULN[0]:g}-<={ISTH_D_DIMER_ULN[1]:g}/"
    f">{ISTH_D_DIMER_ULN[1]:g} -> 0/2/3; PT prolongation < {ISTH_PT_S[0]:g}/{ISTH_PT_S[0]:g}-"
    f"<{ISTH_PT_S[1]:g}/>={ISTH_PT_S[1]:g} s -> 0/1/2; fibrinogen >= {ISTH_FIBRINOGEN:.1f}/"
    f"<{ISTH_FIBRINOGEN:.1f} g/L -> 0/1; total >= {ISTH_OVERT_DIC} overt DIC, only with an "
    "underlying disorder (sepsis, cancer, trauma, obstetric complication); under "
    f"{ISTH_OVERT_DIC} beside one: repeat in 1-2 days", f"{ISTH_DIC}; {ISTH_ALGORITHM}")
INR_RULE = _rule(
    "INR without PT seconds", "not converted to PT seconds (INR 1.3-1.49 can be 3-6 s, one "
    "point); DIC is not assessed without PT seconds, D-dimer and fibrinogen",
    f"{ISTH_DIC}: the item is PT prolongation over the local control")
FRENCH_RULE = _rule(
    "French TMA score", f"platelets <= {FRENCH_PLATELETS:g} x10^9/L and creatinine <= "
    f"{FRENCH_CREATININE_UMOL:g} umol/L, 1 point each (0, 1 or 2); positive ANA an adjunct; "
    "derived in idiopathic TMA", FRENCH)
ADAMTS13_RULE = _rule(
    "ADAMTS13", f"< {ADAMTS13_SEVERE:g}%: severe deficiency, supports TTP; "
    f"{ADAMTS13_SEVERE:g}-{ADAMTS13_NEGATIVE:g}%: clinical judgement (TTP unlikely with "
    "platelets measured and not low, else possible, or suspected where the picture without "
    "ADAMTS13 makes it so, this tool's rule); > "
    f"{ADAMTS13_NEGATIVE:g}%: a negative result, consider other diagnoses (beside PLASMIC or "
    "the French score reaching a high pre-test probability: check when its sample was drawn, "
    f"this tool's rule); an activity reported undetectable is read as < "
    f"{ADAMTS13_UNDETECTABLE:g}% (this tool's rule: the activity assays in use all detect "
    "under the cut-off)", ISTH_TTP)
TTP_RULE = _rule(
    "TTP without ADAMTS13", f"platelets measured and not below {PLATELETS_LOW:g} x10^9/L -> "
    f"unlikely, whatever PLASMIC gives (TTP needs thrombocytopenia); PLASMIC >= "
    f"{PLASMIC_HIGH} -> suspected (possible for a neonate, or a child with diarrhoea recorded "
    "or a creatinine over the lab's or a child's upper limit, or not given, or another TMA's "
    "cause recorded: a transplant, malignant hypertension, systemic sclerosis, a drug known to "
    "cause TMA other than a thienopyridine: it was derived in adults, and a child's TMA is "
    "most often a STEC-HUS); "
    "a range reaching "
    f"{PLASMIC_INTERMEDIATE} with the MAHA picture (MAHA likely or possible, haemolysis with "
    "platelets low or unknown, or platelets < 30 with one raised haemolysis marker) -> "
    "possible; <= 4 -> unlikely (for a newborn with that picture, where no alloimmune "
    "haemolysis (a positive DAT beside haemolysis present) or overt DIC explains it, possible: "
    "its MCV seldom scores PLASMIC's MCV point), "
    "unless the French TMA score can reach 2 of 2 with that picture -> possible (the safer of "
    "the two scores stands, also with an active cancer or a transplant, where the French score "
    "was not derived and which PLASMIC already scores; PLASMIC stands over it only with a "
    "measured overt DIC with its disorder that scores a PT 6 s or more over control (given "
    "beside an INR) or a fibrinogen under 1.0 g/L, and not where a trigger of an immune TTP "
    "is recorded: pregnancy, an obstetric complication, ticlopidine or clopidogrel); "
    "MAHA unlikely -> unlikely (PLASMIC is for thrombocytopenia with MAHA), but not assessed "
    f"(ADAMTS13 decides) with a low haptoglobin outvoted, platelets under "
    f"{PLASMIC_PLATELETS:g} or not given and PLASMIC reaching {PLASMIC_HIGH}; the smear not "
    f"showing MAHA with a positive DAT, haemolysis not excluded, platelets under "
    f"{PLASMIC_PLATELETS:g} (or not given, with haemolysis present) and PLASMIC reaching "
    f"{PLASMIC_HIGH} -> possible; otherwise with a positive DAT: platelets of "
    f"{PLASMIC_PLATELETS:g} or more or PLASMIC under {PLASMIC_HIGH} -> unlikely, else not "
    "assessed; no PLASMIC item given is a range of 0-7, so that a count over the limit with "
    "no lab value makes TTP possible (measure them now); a count at or under the limit never "
    "makes it unlikely", f"{ISTH_TTP}; {PLASMIC}; {FRENCH}",
    standard=False)
URGENT_RULE = _rule(
    "urgent TTP action", "printed first whenever TTP is possible, suspected or likely, naming "
    "which: urgent haematology; ADAMTS13 unknown: plasma exchange and corticosteroids on "
    "suspicion, before ADAMTS13 (sample drawn first; a child's or neonate's: plasma, infusion "
    "for a congenital TTP or exchange with corticosteroids for an immune one, started on "
    "suspicion only where TTP is suspected, else haematology's call); under 10%: start them "
    "now (without "
    "thrombocytopenia or haemolysis shown (platelets measured normal with fewer than two "
    "haemolysis markers raised, or platelets not measured and none raised, or one that the "
    "others outvote beside a smear showing no MAHA): measure them now; with haemolysis beside "
    "platelets measured normal: repeat the count, start them if it is low or falling or as "
    "haematology judges; with thrombocytopenia alone: "
    "a clinical relapse after a remission (Cuker 2021), treated as TTP); 10-20%: on clinical "
    "judgement; "
    "caplacizumab: considered with rituximab under 10% (for an acute episode; a deficiency in "
    "remission: pre-emptive rituximab weighed), on the same judgement in the grey zone, with "
    "ADAMTS13 unknown only where its result is expected within 72 hours, and not before it "
    "while TTP is only possible; no platelet transfusion unless life-threatening bleeding (a "
    "newborn's: the neonatal team's decision by its thresholds, New HV, et al. Br J Haematol "
    "2016;175:784-828: this tool's rule); a bound "
    "whose range gives different lines: TTP possible (where every value of it calls for a "
    "line, the weakest of them), give the measured value, with what the range shows of "
    "ADAMTS13 (not measured: its sample first; read differently: one of the values in "
    "question) (this tool's rule)", f"{ISTH_TTP}; {TTP_OUTCOMES}")
HUS_RULE = _rule("HUS", f"with MAHA and ADAMTS13 not severely low: creatinine >= "
                 f"{HUS_CREATININE:g} mg/dL, or {AKI_ULN_MULTIPLE:g}x the lab's own upper limit "
                 "-> suspected (possible while ADAMTS13 is unknown, unless diarrhoea is "
                 "recorded, or MAHA not likely); for a child or neonate with TTP in play and "
                 "ADAMTS13 unknown, its sample first (an adult's: TTP treated as the URGENT line "
                 "says); over "
                 f"{CREATININE_RAISED['female']:g} (women, sex not given) or "
                 f"{CREATININE_RAISED['male']:g} mg/dL (men), or the lab's own upper limit when "
                 "given (creatinine_uln; a child's is lower) -> possible (a rise over the "
                 f"baseline decides, {KDIGO_AKI}); at or under it -> unlikely (possible with "
                 "diarrhoea recorded: STEC-HUS, or with MAHA likely or possible, ADAMTS13 over "
                 f"{ADAMTS13_NEGATIVE:g}% and no other cause in play: atypical HUS); a child, "
                 "neonate or preterm infant without creatinine_uln: possible at or over "
                 f"{CHILD_INJURY_CREATININE:g} mg/dL (twice a child's {CHILD_CREATININE_ULN:g}), "
                 "else not assessed (the limits are adults'); MAHA unlikely -> unlikely, but "
                 "possible with a raised creatinine or diarrhoea, platelets low or not given and "
                 "haemolysis not shown absent with a normal LDH (an incomplete HUS); without "
                 "diarrhoea, a kidney injury beside a drug known to cause TMA in play, or "
                 "malignant hypertension, systemic sclerosis or a transplant recorded -> at most "
                 "possible (that cause's TMA; "
                 "atypical HUS once it is excluded); the STEC stool culture first, with its "
                 "supportive care, only with diarrhoea recorded (its advice against "
                 "antibiotics not beside a recorded sepsis or transplant)",
                 f"{HUS_CREATININE:g} mg/dL: the level at which PLASMIC stops scoring its renal "
                 f"point; {AKI_ULN_MULTIPLE:g}x the lab's limit: stage 2 of {KDIGO_AKI}; the "
                 "others: the usual adult upper reference limits; STEC-HUS care: Wong CS, et al. "
                 "N Engl J Med 2000;342:1930-1936 (antibiotics), Ardissino G, et al. Pediatrics "
                 "2016;137:e20152153 (fluids); antibiotics in sepsis: Evans L, et al. Surviving "
                 "Sepsis Campaign 2021, Crit Care Med 2021;49:e1063-e1143",
                 standard=False)
CANCER_RULE = _rule(
    "cancer-associated MAHA", "active cancer, DAT-negative MAHA (haemolysis present), no severe "
    "ADAMTS13 deficiency, no overt DIC -> suspected, else possible; 'plasma exchange usually "
    f"ineffective' only with ADAMTS13 > {ADAMTS13_NEGATIVE:g}%", SEED_000, standard=False)
DRUG_RULE = _rule("drug-induced TMA", "a recorded drug of this tool's list with MAHA likely -> "
                  "suspected, action: stop the drug; another drug name, or a bare yes -> at "
                  "most possible, action: name and check it before stopping it; a listed "
                  "cancer treatment beside an active cancer whose smear shows nucleated red "
                  "cells or a leukoerythroblastic picture (or a metastatic one whose smear's "
                  "are not recorded), no kidney injury (creatinine under "
                  f"{HUS_CREATININE:g} mg/dL and under {AKI_ULN_MULTIPLE:g}x the lab's limit, "
                  f"for a child without it a child's {CHILD_CREATININE_ULN:g} mg/dL; "
                  "one not measured is not taken for one, and the action asks for it) and "
                  "ADAMTS13 not under 10%, or with a cancer recorded beside ADAMTS13 under 10% (an "
                  "immune TTP, which only the thienopyridines are reported to trigger) -> "
                  "action: decide with "
                  "the oncologist (marrow infiltration causes the MAHA itself), and at most "
                  "possible unless another listed drug recorded with it is stopped; ciclosporin "
                  "or tacrolimus with a transplant recorded -> action: its level and dose with "
                  "the transplant team (reduce or switch, not stop alone), with the transplant "
                  "not recorded -> reduce, switch or stop with the transplant or prescribing "
                  "team, never 'do not re-expose' (transplant recorded as no: stopped like the "
                  "others)",
                  f"{DRUG_TMA}; {DRUG_TMA_REGISTRY}", standard=False)
MEGALOBLASTIC_RULE = _rule(
    "megaloblastic pseudo-TMA", f"MCV > {MACROCYTOSIS_MCV:g} fL and reticulocytes not raised "
    f"(<= {RETICULOCYTES_RAISED:g}% once corrected for the anaemia: % x 3 Hb / "
    f"{NORMAL_HAEMATOCRIT:g}) in a haemolytic picture (or beside one raised haemolysis "
    f"marker, a raised LDH alone among them); B12 < {B12_DEFICIENT:g} pg/mL "
    f"({B12_DEFICIENT * B12_PMOL_PER_PG:.1f} pmol/L) or folate < {FOLATE_DEFICIENT:g} ng/mL "
    f"({FOLATE_DEFICIENT * FOLATE_NMOL_PER_NG:.1f} nmol/L; BSH 2014 gives them rounded, 148 and 7) "
    "-> suspected, and with the reticulocytes not raised as counted either (<= "
    f"{RETICULOCYTES_RAISED:g}%) the schistocyte % is then less specific for TMA (ICSH 2021: "
    "other severe poikilocytosis, megaloblastic anaemia among them); raised "
    "reticulocytes -> unlikely, but possible with a measured deficiency",
    f"deficiency cut-offs: {BSH_COBALAMIN}; the pattern: CLINICAL.md (pseudo-TMA of B12 "
    "deficiency)", standard=False)
MARROW_RULE = _rule(
    "marrow infiltration", "leukoerythroblastic picture with cancer or an unexplained cytopenia "
    "-> suspected; a cytopenia with metastatic cancer, two or more cytopenias a likely MAHA "
    "does not explain with cancer (active or past), or a cytopenia with B12 above its ULN "
    "and cancer (active or past) -> possible (with MDS / therapy-related myeloid neoplasm "
    "named beside it); not assessed when its inputs are missing", f"{SEED_002}; {SEED_003}",
    standard=False)
DAT_RULE = _rule(
    "DAT", "negative: a non-immune haemolysis, as in MAHA; positive: an immune haemolysis to "
    "consider (MAHA unlikely unless the count is above the limit), listed as a cause: "
    "suspected with haemolysis present, possible without (Evans syndrome named with "
    "thrombocytopenia; a newborn's named an alloimmune haemolytic disease of the newborn, the "
    "mother's antibodies)",
    f"MAHA is a DAT-negative (Coombs-negative) haemolysis ({ISTH_TTP}); a DAT-positive one "
    "is autoimmune haemolytic anaemia, with immune thrombocytopenia Evans syndrome (Jäger U, "
    "et al. Blood Rev 2020;41:100648)", standard=False)
#: Corticosteroids can precipitate a scleroderma renal crisis, which an ACE inhibitor treats.
SCLERODERMA_CRISIS = ("Steen VD, Medsger TA Jr. Arthritis Rheum 1998;41:1613-1619 "
                      "(corticosteroids); Steen VD, et al. Ann Intern Med 1990;113:352-357 (ACE "
                      "inhibitors)")
#: Transplant-associated TMA: its diagnostic criteria after a stem-cell transplant.
TRANSPLANT_TMA = "Jodele S, et al. Blood 2014;124:645-653"
#: Malignant hypertension's MAHA and its kidney injury, which blood-pressure control reverses.
HYPERTENSIVE_TMA = "van den Born BJ, et al. Hypertension 2005;45:246-251"
#: HELLP: haemolysis, raised liver enzymes and platelets under 100; delivery treats it.
HELLP = "Sibai BM. Obstet Gynecol 2004;103:981-991"
RECORDED_RULE = _rule(
    "mechanical heart valve", "a mechanical heart valve recorded -> possible with MAHA, "
    "unlikely without", "the context given with the lab values: a valve's haemolysis is a "
    "MAHA of its own, with schistocytes, which echocardiography assesses", standard=False)
HYPERTENSION_RULE = _rule(
    "malignant hypertension", "malignant hypertension recorded -> possible with MAHA, "
    "suspected with MAHA likely and a kidney injury, unlikely without MAHA; with systemic "
    "sclerosis or a transplant recorded too, those rank first, and a named HELLP or a HUS with "
    "diarrhoea recorded before it; with pregnancy or an obstetric complication recorded its "
    "action starts with an urgent obstetric review; beside an URGENT line its action defers to "
    "it (no 're-assess once controlled')", HYPERTENSIVE_TMA,
    standard=False)
PREGNANCY_RULE = _rule(
    "pregnancy", "pregnancy or an obstetric complication recorded -> possible with MAHA, "
    "unlikely without; with MAHA likely, a HELLP named as the obstetric complication -> "
    "suspected (its liver enzymes are not read), ranked before the other recorded causes; "
    "beside an URGENT line its action defers to it", HELLP, standard=False)
SCLERODERMA_RULE = _rule(
    "scleroderma renal crisis", "systemic sclerosis recorded -> possible with MAHA, suspected "
    "with MAHA likely and a kidney injury, unlikely without MAHA; an URGENT line then ends with "
    "a caution against high-dose corticosteroids, which can precipitate the crisis, and the "
    "crisis's action, beside it, weighs them with rheumatology and defers to it; with "
    "pregnancy or an obstetric complication recorded, its action starts with an urgent "
    "obstetric review and the ACE inhibitor is decided with obstetrics; ranked before a HUS "
    "with diarrhoea recorded",
    SCLERODERMA_CRISIS, standard=False)
TRANSPLANT_RULE = _rule(
    "transplant-associated TMA", "a transplant recorded -> possible with MAHA, suspected with "
    "MAHA likely and a kidney injury, unlikely without MAHA, ranked before a HUS with diarrhoea "
    "recorded; beside an URGENT line its action defers to it", TRANSPLANT_TMA, standard=False)
AMBIGUOUS_RULE = _rule(
    "bare lab numbers", "refused (exit 2) where plausible in two common units of the key",
    "smearscan.labs: a silent unit guess can reverse a call", standard=False)
D_DIMER_RATIO_RULE = _rule(
    "D-dimer against its ULN", f"refused (exit 2) under {D_DIMER_RATIO_RANGE[0]:g}x or over "
    f"{D_DIMER_RATIO_RANGE[1]:g}x, also when the two come from a lab file and the command line",
    "smearscan.labs: below every assay's detection limit or past every assay's measuring range "
    "(~20-35 mg/L FEU, ~128 mg/L diluted), i.e. mg/L read as ng/mL or the reverse",
    standard=False)
def _up(value: float) -> str:
    """``value`` to 2 decimals, rounded up: the lowest shown is allowed (QA 63 L1)."""
    return f"{math.ceil(value * 100) / 100:.2f}"


def _down(value: float) -> str:
    """``value`` to 2 decimals, rounded down: the highest shown is allowed (QA 63 L1: 3.54
    was shown allowed and refused, the limit being 3.538)."""
    return f"{math.floor(value * 100) / 100:.2f}"


PT_INR_RULE = _rule(
    "PT prolongation against the INR", "refused (exit 2) when the INR is out of what the "
    f"prolongation p allows: from ((14 + p) / 14) ** {PT_ISI[0]:g} - {PT_INR_MARGIN[0]:g} to "
    f"((10 + p) / 10) ** {PT_ISI[1]:g} + {PT_INR_MARGIN[1]:g} for p >= 0 (6 s: "
    f"{_up(least_inr(6))}-{_down(greatest_inr(6))}; 13.5 s: from {_up(least_inr(13.5))}); a bound "
    "at the end of its range that could agree; without an INR, a prolongation of "
    f"{PT_CONTROL_S[0]:g} s or more (a control PT's length); without a PT prolongation, an INR "
    f"of {PT_CONTROL_S[0]:g} or more (a PT in seconds typed as the INR)",
    f"INR = (PT / control) ** ISI with a control of {PT_CONTROL_S[0]:g}-{PT_CONTROL_S[1]:g} s "
    f"and an ISI of {PT_ISI[0]:g}-{PT_ISI[1]:g}: an INR outside means the PT itself was given "
    "(seed 000: PT 13.5 s, INR 1.17) or a sign lost", standard=False)
BOUND_RULE = _rule(
    "lab results given as a bound ('<0.1 g/L', '>20 mg/L')",
    "read just inside the bound; refused (exit 2) where the verdict differs within its range",
    "the bound itself, or any one value under it, can land on the wrong side of a cut-off",
    standard=False)

RULES: tuple[Rule, ...] = (
    SCHISTOCYTE_RULE, CHILD_SCHISTOCYTE_RULE, FOCUS_RULE, SCALE_RULE, LESS_SPECIFIC_RULE,
    MAHA_RULE, LDH_RULE, LDH_NO_LIMIT_RULE, HAPTOGLOBIN_LAB_RULE, HAPTOGLOBIN_RULE,
    RETICULOCYTE_RULE, BILIRUBIN_RULE, NEWBORN_RULE, HAEMOLYSIS_RULE, PLATELET_RULE,
    THROMBOCYTOPENIA_RULE, HIT_RULE, WBC_RULE,
    ANAEMIA_RULE, ANAEMIA_UNKNOWN_SEX_RULE,
    PLASMIC_RULE, UNDETECTABLE_RULE, ISTH_DIC_RULE, INR_RULE, FRENCH_RULE, ADAMTS13_RULE,
    TTP_RULE, URGENT_RULE, HUS_RULE, CANCER_RULE, DRUG_RULE, MEGALOBLASTIC_RULE, MARROW_RULE,
    AMBIGUOUS_RULE, BOUND_RULE, D_DIMER_RATIO_RULE, PT_INR_RULE, DAT_RULE, SCLERODERMA_RULE,
    HYPERTENSION_RULE, TRANSPLANT_RULE, PREGNANCY_RULE, RECORDED_RULE,
)
"""Every rule the verdict applies, in the order of the README table."""

CAUSE_RULES: dict[str, Rule] = {
    "ttp": TTP_RULE, "hus": HUS_RULE, "dic": ISTH_DIC_RULE, "drug-induced": DRUG_RULE,
    "cancer-associated": CANCER_RULE, "megaloblastic": MEGALOBLASTIC_RULE,
    "malignant-hypertension": HYPERTENSION_RULE, "scleroderma-renal-crisis": SCLERODERMA_RULE,
    "transplant-associated": TRANSPLANT_RULE, "pregnancy": PREGNANCY_RULE,
    "mechanical": RECORDED_RULE, "immune-haemolysis": DAT_RULE,
    "thrombocytopenia-without-maha": THROMBOCYTOPENIA_RULE,
    "heparin-induced-thrombocytopenia": HIT_RULE}
"""The rule behind each cause of the differential, shown beside it."""


def rules_digest() -> str:
    """A short digest of :data:`RULES` as the README shows them: a slide whose verdict was made
    under other rules is analysed again, not resumed (a safety fix must reach the slides a
    run resumes)."""
    import hashlib

    return hashlib.sha256(rules_markdown().encode("utf-8")).hexdigest()[:16]


def rules_markdown() -> str:
    """The README table of :data:`RULES`: rule, value, standard or tool rule, source."""
    kinds = {"standard": "standard", "lab": "lab's own limit", "tool": "tool rule"}
    lines = ["| rule | value | standard or tool rule | source |", "|---|---|---|---|"]
    lines += [f"| {r.topic} | {r.value} | {kinds[r.kind]} | {r.source} |" for r in RULES]
    return "\n".join(lines)
