"""Immune haemolysis: a positive DAT, the alternative to MAHA (autoimmune haemolytic anaemia;
with thrombocytopenia, Evans syndrome)."""

from __future__ import annotations

from smearscan.labs import Labs
from smearscan.verdict.differential.cause import Cause
from smearscan.verdict.findings import LabPicture, immune_haemolysis_shown


def immune_cause(labs: Labs, picture: LabPicture, *, newborn: bool = False) -> Cause | None:
    """Listed with a positive DAT: haemolysis present -> suspected (Evans syndrome named with
    thrombocytopenia), else possible (:data:`~smearscan.verdict.values.DAT_RULE`, this tool's
    rule). A ``newborn``'s is alloimmune, the mother's antibodies: a haemolytic disease of the
    newborn, not an autoimmune one (QA 124 M3). A positive DAT never excludes TTP: that is
    ADAMTS13's (see TTP)."""
    if labs.dat != "positive":
        return None
    evans = bool(picture.thrombocytopenia)
    if newborn:
        name = ("alloimmune haemolytic disease of the newborn (the mother's antibodies: anti-D, "
                "anti-c, ABO...)")
        action = ("DAT profile, the mother's blood group and antibody screen, and the "
                  "bilirubin by hours of age with the neonatal team; a positive DAT does not "
                  "exclude TTP: ADAMTS13 does")
    else:
        name = ("autoimmune haemolytic anaemia with thrombocytopenia (Evans syndrome)" if evans
                else "autoimmune haemolytic anaemia")
        action = ("DAT profile (IgG, C3d) and a haematology review; a positive DAT does not "
                  "exclude TTP: ADAMTS13 does")
    reasons = [f"DAT positive: {name}"]
    if immune_haemolysis_shown(labs, picture):
        return Cause.of("immune-haemolysis", "suspected", "urgent", action, reasons)
    reasons.append(f"haemolysis {picture.haemolysis}")
    return Cause.of("immune-haemolysis", "possible", "urgent", action, reasons)
