"""Markdown tables for models/README.md from two `smearscan evaluate` outputs.

Usage: python scripts/model_card_tables.py TEST/metrics.json VAL/metrics.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def _f(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def rows(m: dict) -> list[tuple[str, str]]:
    out = []
    # A model trained on every Chula field is evaluated without Chula ("chula" says why).
    names = ("nrbc", "immature_granulocyte") if "chula" in m else \
        ("schistocyte", "nrbc", "immature_granulocyte")
    for name in names:
        e = m[name]
        out.append((f"{name}: positives / negatives ({e['scope']})",
                    f"{e['positives']} / {e['negatives']}"))
        out.append((f"{name}: ROC AUC", _f(e["roc_auc"])))
        for spec, point in e["at_specificity"].items():
            out.append((f"{name}: sensitivity at specificity {spec}", _f(point["sensitivity"])))
        op = e["at_operating_threshold"]
        out.append((f"{name}: at operating threshold {op['threshold']:.3f}: sensitivity",
                    _f(op["sensitivity"])))
        out.append((f"{name}: at operating threshold: false-call rate",
                    _f(op["false_call_rate"], 4)))
    s, n, ig = m["schistocyte"], m["nrbc"], m["immature_granulocyte"]
    out += [
        ("Chula platelets (mined) called schistocyte",
         _f(s.get("chula_mined_platelets_called_schistocyte"))),
        ("PBC leukocytes called NRBC", _f(n["pbc_leukocytes_called_nrbc"])),
        *[(f"PBC {src} called NRBC", _f(v)) for src, v in n["called_fraction_by_source"].items()
          if src != "erythroblast"],
        ("BCCD WBCs called NRBC", _f(n["called_fraction_bccd_wbc"])),
        ("PBC neutrophils called IG", _f(ig["neutrophils_called_ig"])),
        ("PBC lymphocytes + monocytes called IG", _f(ig["lymphocytes_monocytes_called_ig"])),
        ("morphology head accuracy (Chula shapes)", _f(m["morphology"]["accuracy"])),
    ]
    return out


def main() -> None:
    test, val = (json.loads(Path(path).read_text()) for path in sys.argv[1:3])
    print("| metric | test | val |\n|---|---:|---:|")
    for (label, t), (_, v) in zip(rows(test), rows(val), strict=True):
        print(f"| {label} | {t} | {v} |")
    print("\n| class | test P | test R | test F1 | test n | val P | val R | val F1 | val n |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name in test["classes"]:
        t, v = test["per_class"][name], val["per_class"][name]
        print(f"| {name} | " + " | ".join(
            f"{_f(x['precision'])} | {_f(x['recall'])} | {_f(x['f1'])} | {x['support']}"
            for x in (t, v)) + " |")
    print(f"\nTest confusion (rows true, columns called; order {', '.join(test['classes'])}): "
          f"`{test['confusion']}`")
    if "chula" in test:
        print(f"\nChula: {test['chula']}")
        return
    print("\nBaseline (logistic regression on morphometrics, schistocyte vs other labelled "
          "Chula cells) against the CNN:\n")
    print("| | CNN test | baseline test | CNN val | baseline val |\n|---|---:|---:|---:|---:|")
    print(f"| ROC AUC | {_f(test['schistocyte']['roc_auc'])} | "
          f"{_f(test['baseline']['roc_auc'])} | {_f(val['schistocyte']['roc_auc'])} | "
          f"{_f(val['baseline']['roc_auc'])} |")
    for spec in test["schistocyte"]["at_specificity"]:
        cells = [m[k]["at_specificity"][spec]["sensitivity"]
                 for m in (test, val) for k in ("schistocyte", "baseline")]
        print(f"| sensitivity at specificity {spec} | " + " | ".join(_f(c) for c in cells) + " |")


if __name__ == "__main__":
    main()
