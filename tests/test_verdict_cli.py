"""`smearscan verdict` on the command line: ambiguous bare values exit 2 with one line, the
urgent TTP line comes first in text and JSON, and a summary.json is read as the typed result."""

import contextlib
import json
import subprocess
import sys

import numpy as np
import pytest

from smearscan.cli import main, verdict_parser
from smearscan.slide_stats import slide_result
from smearscan.verdict import urgent_ttp

CLASSIC_TTP = ["--platelets", "10", "--hemoglobin", "8.1 g/dL", "--ldh", "1100", "--ldh-uln",
               "225", "--haptoglobin", "0", "--reticulocytes", "4.5", "--indirect-bilirubin",
               "2.5 mg/dL", "--dat", "negative", "--active-cancer", "no", "--transplant", "no",
               "--mcv", "88", "--inr", "1.1", "--creatinine", "1.0 mg/dL"]
def _exit_code(argv: list[str]) -> int:
    """``main``'s exit code, also where a refusal exits (argparse's error)."""
    try:
        return main(argv)
    except SystemExit as exit_info:
        return exit_info.code


CLASSIC_TTP_JSON = json.dumps({CLASSIC_TTP[i][2:].replace("-", "_"): CLASSIC_TTP[i + 1]
                               for i in range(0, len(CLASSIC_TTP), 2)})


@pytest.mark.parametrize(("key", "value", "units", "advice"), [
    # 0.6% is a severe deficiency, 60% excludes TTP: ADAMTS13 is in question (QA 46 L-2)
    ("adamts13", "0.6", ("%", "IU/mL"), "in question, refused"),
    ("haptoglobin", "8", ("g/L", "mg/dL"), "unknown"),
    ("hemoglobin", "7.5", ("g/dL", "mmol/L"), "unknown"),
    ("creatinine", "20", ("mg/dL", "umol/L"), "unknown"),
    ("indirect-bilirubin", "4.21", ("mg/dL", "umol/L"), "unknown"),
    ("ldh", "300", ("U/L", "ukat/L"), "unknown"),
    # 1.5 x10^9/L is a severe thrombocytopenia, 1500 none: correct it, ADAMTS13 sample first
    # (QA 46 L-1)
    ("platelets", "1500", ("x10^9/L", "/uL"), "unknown, refused"),
])
def test_every_ambiguous_bare_value_exits_2_with_one_line(key, value, units, advice, capsys):
    assert main(["verdict", "--schistocytes", "2", f"--{key}", value]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    # The URGENT line 2% schistocytes alone call for is kept (qacli8 H-2).
    assert captured.out == urgent_ttp("possible", advice) + "\n"
    assert "\n" not in err and "Traceback" not in err
    assert err.startswith(f"smearscan verdict: command line: {key.replace('-', '_')} = "
                          f"'{value}': a bare number could be ")
    for unit in units:
        assert unit in err


@pytest.mark.parametrize(("option", "first", "second"), [
    ("--schistocytes", "8", "0.5"), ("--rbc-counted", "1000", "500"),
    ("--labs", "a.json", "b.json"), ("--slide", "S1", "S2"), ("--population", "adult", "preterm"),
    ("--leukoerythroblastic", "present", "absent"),
])
def test_an_option_given_twice_exits_2_naming_both_in_one_line(option, first, second, capsys):
    args = [] if option == "--schistocytes" else ["--schistocytes", "2"]
    with pytest.raises(SystemExit) as exit_info:
        main(["verdict", *args, option, first, option, second])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err == (
        f"smearscan verdict: error: {option} given twice ('{first}' and '{second}'): keep the one "
        "the verdict should use (see smearscan verdict --help)\n")


@pytest.mark.parametrize(("option", "first", "second", "lines_agree"), [
    ("--schistocytes", "3", "0.2", True), ("--rbc-counted", "1000", "2000", True),
    ("--population", "neonate", "preterm", True), ("--labs", "{five}", "{fifty}", False),
])
def test_an_option_given_twice_keeps_the_line_its_copies_call_for(
        option, first, second, lines_agree, tmp_path, capsys):
    # QA 43 H-3: '--schistocytes 3 --schistocytes 3' beside a TTP picture was refused with no
    # line. Each copy read alone gives "TTP likely"; the lab files' ADAMTS13 of 5% and 50%
    # give lines that differ.
    files = {"five": tmp_path / "five.json", "fifty": tmp_path / "fifty.json"}
    files["five"].write_text(json.dumps({"adamts13": "5 %"}))
    files["fifty"].write_text(json.dumps({"adamts13": "50 %"}))
    first, second = first.format(**files), second.format(**files)
    picture = ["verdict", *SEVERE_OPTIONS[:4], *(["--adamts13", "5 %"] if option != "--labs"
                                                 else []),
               *(["--schistocytes", "3"] if option != "--schistocytes" else [])]
    lines = set()
    for copy in (first, second):
        assert main([*picture, option, copy]) == 0
        lines.add(capsys.readouterr().out.split("\n")[0])
    assert len(lines) == (1 if lines_agree else 2)
    # ADAMTS13 5% or 50%: in question, no severe deficiency shown (QA 46 L-2)
    expected = lines.pop() if lines_agree else urgent_ttp("possible", "in question, refused")
    assert expected.startswith("URGENT - TTP")
    with pytest.raises(SystemExit) as exit_info:
        main([*picture, option, first, option, second])
    assert exit_info.value.code == 2
    refused = capsys.readouterr()
    assert (refused.out.split("\n")[0], refused.err) == (
        expected, f"smearscan verdict: error: {option} given twice ('{first}' and '{second}'): "
                  "keep the one the verdict should use (see smearscan verdict --help)\n")


def test_a_summary_given_twice_exits_2_in_one_line(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["verdict", "--summary", "a.json", "--summary", "b.json", "--slide", "S1"])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err == (
        "smearscan verdict: error: --summary given twice ('a.json' and 'b.json'): keep the one "
        "the verdict should use (see smearscan verdict --help)\n")


@pytest.mark.parametrize(("args", "message"), [
    (["verdict", "--schistocytes", "abc"],
     "smearscan verdict: error: argument --schistocytes: 'abc' is not a number"),
    (["verdict", "--schistocytes", "-1"],
     "smearscan verdict: error: argument --schistocytes: '-1' is not a percentage (0-100)"),
    (["verdict", "--schistocytes", "nan"],
     "smearscan verdict: error: argument --schistocytes: 'nan' is not a percentage (0-100)"),
    (["verdict", "--schistocytes", "150"],
     "smearscan verdict: error: argument --schistocytes: '150' is not a percentage (0-100)"),
    (["verdict", "--schistocytes", "5", "--rbc-counted", "0"],
     "smearscan verdict: error: argument --rbc-counted: '0' must be at least 1"),
    (["verdict"], "smearscan verdict: error: one of the arguments --schistocytes --summary is "
                  "required"),
    (["train"], "smearscan train: error: the following arguments are required: --out"),
    (["evaluate", "--out", "x", "--split", "q"],
     "smearscan evaluate: error: argument --split: invalid choice: 'q' (choose from 'val', "
     "'test', 'train')"),
    (["review"], "smearscan review: error: the following arguments are required: DIR"),
    (["export-corrections"], "smearscan export-corrections: error: the following arguments are "
                             "required: DIR, --out"),
    ([], "smearscan: error: the following arguments are required: PATH"),
])
def test_command_line_errors_are_one_line_pointing_to_help(args, message, capsys, tmp_path,
                                                          monkeypatch):
    monkeypatch.chdir(tmp_path)  # no ../shared beside it (QA 55 H-1)
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code == 2
    prog = message.split(": error:")[0]
    assert capsys.readouterr().err == f"{message} (see {prog} --help)\n"


def test_a_missing_percentage_is_read_as_not_known(capsys):
    # No values, no URGENT line (read as every percentage, 100% alone called for "TTP
    # possible"); lab values alone keep theirs.
    assert _first_line(["verdict"], capsys) == (
        None, "smearscan verdict: error: one of the arguments --schistocytes --summary is "
              "required (see smearscan verdict --help)\n")
    assert _first_line(["verdict", "--platelets", "150", "--hemoglobin", "14 g/dL"],
                       capsys)[0] is None
    assert _first_line(["verdict", *LIKELY], capsys)[0].startswith("URGENT - TTP likely")


@pytest.mark.parametrize(("percent", "counted"), [
    ("8.3", 1200), ("8.33", 1200), ("8.5", 1200), ("0.5", 2000), ("4", 1000), ("1.0", 1000),
    ("12", 8), ("13", 8), ("12.5", 8),  # 1 of 8 is 12.5%: either rounding of the half
])
def test_a_percentage_of_a_whole_number_of_cells_is_accepted(percent, counted, capsys):
    assert main(["verdict", "--schistocytes", percent, "--rbc-counted", str(counted)]) == 0
    assert f": {float(percent):g}% (95% CI " in capsys.readouterr().out


@pytest.mark.parametrize(("percent", "counted", "cells", "nearest"), [
    ("0.99", 1000, "9.9", "10 of 1000 is 1%"), ("1.01", 1000, "10.1", "10 of 1000 is 1%"),
    ("8.34", 1200, "100.08", "100 of 1200 is 8.333%"),
    ("8.32", 1200, "99.84", "100 of 1200 is 8.333%"),
    ("12.6", 8, "1.008", "1 of 8 is 12.5%"),
])
def test_a_percentage_of_no_whole_number_of_cells_exits_2_in_one_line(percent, counted, cells,
                                                                     nearest, capsys):
    assert _exit_code(["verdict", "--schistocytes", percent, "--rbc-counted", str(counted)]) == 2
    assert capsys.readouterr().err == (
        f"smearscan verdict: error: --schistocytes {percent} of --rbc-counted {counted} is {cells} "
        f"cells, not a whole number ({nearest}): give the percentage of the count (this tool's "
        "rule) (see smearscan verdict --help)\n")


def test_a_bare_reticulocyte_fraction_exits_2_and_the_unit_is_accepted(capsys):
    assert main(["verdict", "--schistocytes", "4", "--reticulocytes", "0.06"]) == 2
    assert capsys.readouterr().err == (
        "smearscan verdict: command line: reticulocytes = '0.06': a bare number could be 0.06% or "
        "0.06 fraction (= 6%); give the unit, e.g. '0.06 %' or '0.06 fraction'\n")
    assert main(["verdict", "--schistocytes", "4", "--reticulocytes", "0.06 fraction",
                 "--json"]) == 0
    findings = json.loads(capsys.readouterr().out)["findings"]["for"]
    assert any(f["finding"].startswith("reticulocytes raised") and "6%" in f["value"]
               for f in findings)


@pytest.mark.parametrize(("word", "same_as"), [
    ("none", "no"), ("nil", "no"), ("unknown", None), ("-", None),
])
def test_drug_exposure_none_is_no_and_unknown_is_not_recorded(word, same_as, tmp_path, capsys):
    def verdict(drug: str | None) -> str:
        path = tmp_path / "labs.json"
        labs = {**json.loads(CLASSIC_TTP_JSON), **({} if drug is None else {"drug_exposure": drug})}
        path.write_text(json.dumps(labs))
        assert main(["verdict", "--schistocytes", "5", "--rbc-counted", "1000", "--labs",
                     str(path)]) == 0
        return capsys.readouterr().out

    text = verdict(word)
    assert text == verdict(same_as) and f"stop {word}" not in text


def test_ambiguous_bare_value_in_a_lab_file_exits_2_naming_the_file(tmp_path, capsys):
    path = tmp_path / "labs.json"
    path.write_text(json.dumps({"adamts13": 0.6}))
    assert main(["verdict", "--schistocytes", "2", "--labs", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}: adamts13 = 0.6: a bare number could be 0.6% or 0.6 IU/mL (= 60%)" in err


def test_help_says_which_bare_values_are_refused():
    text = verdict_parser().format_help()
    assert ("a bare number that is also a plausible result in another common unit of that key is "
            "refused (exit code 2)") in " ".join(text.split())
    assert "--adamts13: 0-2 (could be IU/mL)" in text
    assert "--haptoglobin: 0-10 (could be mg/dL)" in text
    assert "--platelets: 1000-2000 (could be /uL)" in text


def test_help_names_the_words_each_lab_option_takes():
    # QA 63 L4: --sex, --dat and the yes/no keys named no value; a user had to guess them.
    helps = {action.dest: " ".join(action.help.split()) for action in verdict_parser()._actions
             if action.dest.startswith("lab_")}
    assert helps["lab_sex"] == "sex, for the WHO anaemia limit [female, male (or F, M)]"
    assert helps["lab_dat"] == "direct antiglobulin (Coombs) test [positive or negative]"
    assert helps["lab_inr"].endswith(" [a number]")
    assert helps["lab_hemoglobin"] == "haemoglobin [g/dL]"
    assert helps["lab_active_cancer"].endswith(" [yes or no]")


def test_classic_ttp_with_a_low_count_starts_with_the_urgent_line(capsys):
    args = ["verdict", "--schistocytes", "0.5", "--rbc-counted", "2000", *CLASSIC_TTP]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert text.startswith("URGENT - TTP suspected: a medical emergency.")
    assert "MAHA: possible" in text and "1. ttp: suspected (emergency)" in text
    assert main([*args, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert list(data)[0] == "urgent" and data["urgent"].startswith("URGENT - TTP suspected")
    assert [c["cause"] for c in data["differential"]][0] == "ttp"


def test_seed_000_worked_case_json(capsys):
    code = main(["verdict", "--schistocytes", "8.5", "--rbc-counted", "1200", "--nrbc",
                 "--hemoglobin", "75.5 g/L", "--sex", "female", "--platelets", "82", "--ldh",
                 "2477", "--ldh-uln", "225", "--haptoglobin", "0", "--reticulocytes", "18.81 %",
                 "--dat", "negative", "--adamts13", "60", "--creatinine", "56.6 umol/L",
                 "--inr", "1.17", "--metastatic-cancer", "yes", "--json"])
    assert code == 0
    verdict = json.loads(capsys.readouterr().out)
    assert (verdict["urgent"], verdict["maha"]) == (None, "likely")
    assert [(c["cause"], c["assessment"]) for c in verdict["differential"]][:3] == [
        ("cancer-associated", "suspected"), ("dic", "not assessed"), ("ttp", "unlikely")]


def test_summary_is_read_as_the_typed_slide_result(tmp_path, capsys):
    labels = np.array(["schistocyte"] * 26 + ["rbc"] * 1974 + ["wbc"] * 25)
    result = slide_result(label=labels, morphology=np.full(labels.size, ""),
                          border=np.zeros(labels.size, bool),
                          operating={"schistocyte": {"sensitivity": 0.6,
                                                     "false_positive_rate": 0.002}})
    path = tmp_path / "summary.json"
    path.write_text(json.dumps({"slides": {"S1": result.to_dict()}}))
    assert main(["verdict", "--summary", str(path), "--slide", "S1", "--json"]) == 0
    finding = json.loads(capsys.readouterr().out)["findings"]["for"][0]
    assert finding["finding"] == "schistocytes above the 1% limit"  # the slide's own call
    # The one slide of a summary needs no --slide (QA of the analysis command, second pass).
    assert main(["verdict", "--summary", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["findings"]["for"][0] == finding
    path.write_text(json.dumps({"slides": {"S1": result.to_dict(), "S2": result.to_dict()}}))
    assert main(["verdict", "--summary", str(path)]) == 2
    assert capsys.readouterr().err == (f"smearscan verdict: {path} holds 2 slides (S1, S2): "
                                       "name one with --slide NAME\n")


@pytest.mark.parametrize(("options", "named"), [
    (["--nrbc"], "--nrbc"), (["--leukoerythroblastic", "present", "--nrbc"], "--nrbc, "
     "--leukoerythroblastic"), (["--rbc-counted", "300"], "--rbc-counted"),
    (["--population", "preterm"], "--population")])
def test_count_options_with_a_summary_are_refused_not_ignored(tmp_path, capsys, options, named):
    # QA 8 #6: they were dropped without a word, exit 0 (a reviewer's "present" lost).
    path = tmp_path / "summary.json"
    path.write_text(json.dumps({"slides": {}}))
    with pytest.raises(SystemExit) as exit_info:
        main(["verdict", "--summary", str(path), "--slide", "S1", *options])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err == (
        f"smearscan verdict: error: {named}: not used with --summary, whose slide gives them; to "
        "judge another count, give it with --schistocytes instead (also refused: slide 'S1' is "
        "not in the summary; slides: none) (see smearscan verdict --help)\n")


@pytest.mark.parametrize("empty", ["", "unknown"])
def test_an_unknown_option_value_does_not_silently_leave_the_files_value(tmp_path, capsys,
                                                                         empty):
    # QA 8 #17: --adamts13 '' kept the file's 5% without a word ("options override --labs").
    labs = tmp_path / "labs.json"
    labs.write_text(json.dumps({"adamts13": "5 %", "platelets": 12}))
    assert main(["verdict", "--schistocytes", "3", "--labs", str(labs), "--adamts13",
                 empty]) == 2
    assert capsys.readouterr().err == (
        f"smearscan verdict: --adamts13 {empty!r} does not replace the adamts13 the lab values "
        "give (5%): give the value the verdict should use, or remove it from the lab file\n")
    assert main(["verdict", "--schistocytes", "3", "--adamts13", empty, "--json"]) == 0
    # ADAMTS13 unknown, not the file's 5%: TTP possible on the count, not likely.
    assert json.loads(capsys.readouterr().out)["urgent"].startswith(
        "URGENT - TTP possible: a medical emergency. Refer to haematology now; draw a sample "
        "for ADAMTS13 activity")


@pytest.mark.parametrize(("percent", "shown"), [
    ("1e-7", "1E-7"), ("0.0000001", "1E-7"), ("1e-30000000", "1E-30000000"),
    ("0.000000", None), ("0.1", None)])
def test_a_percentage_with_more_decimals_than_a_count_gives_is_refused(percent, shown, capsys):
    # QA 8 #18: 1e-7 of 1000 red cells was rounded to 0 and accepted; 0.00001 was refused.
    code = _exit_code(["verdict", "--schistocytes", percent, "--rbc-counted", "1000", "--json"])
    err = capsys.readouterr().err
    assert code == (0 if shown is None else 2)
    assert err == ("" if shown is None else f"smearscan verdict: error: --schistocytes {shown}: "
                   "more than 6 decimals, which no count of red cells gives (see smearscan "
                   "verdict --help)\n")


def test_summary_without_a_slide_result_exits_2(tmp_path, capsys):
    path = tmp_path / "summary.json"
    path.write_text(json.dumps({"slides": {"S1": {"schistocytes": {"percent": 0.3}}}}))
    assert main(["verdict", "--summary", str(path), "--slide", "S1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "smearscan verdict: slide 'S1': not a smearscan slide result: no 'rbc_counted'"


def test_manual_leukoerythroblastic_input_reaches_the_marrow_section(capsys):
    assert main(["verdict", "--schistocytes", "0.2", "--rbc-counted", "2000",
                 "--leukoerythroblastic", "present", "--wbc", "2.5", "--active-cancer", "yes",
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["marrow"]["marrow_infiltration"] == "suspected"


def test_verdict_subprocess_exit_code_for_an_ambiguous_value():
    result = subprocess.run([sys.executable, "-m", "smearscan.cli", "verdict", "--schistocytes",
                             "2", "--adamts13", "0.6"], capture_output=True, text=True)
    assert result.returncode == 2 and result.stdout == urgent_ttp(
        "possible", "in question, refused") + "\n"
    assert result.stderr.count("\n") == 1 and "adamts13" in result.stderr


def test_an_ldh_under_serum_level_is_refused_with_the_urgent_line_naming_its_source(
        tmp_path, capsys):
    # QA 38 H-1: refused with no URGENT line; L-1: a neonate's refusal named "lab values", not
    # the file or the command line the LDH came from.
    labs = tmp_path / "labs.json"
    labs.write_text(json.dumps({"ldh": "450 U/L", "ldh_uln": "1500 U/L"}))
    count = ["verdict", "--schistocytes", "3", "--rbc-counted", "1000", "--dat", "negative",
             "--platelets", "10", "--haptoglobin", "<0.1 g/L", "--adamts13", "5"]
    why = ("ldh = 450 U/L is under 0.4x ldh_uln = 1500 U/L, not a serum result (this tool's "
           "rule): was it in ukat/L (x60 U/L)?")
    for source, args in ((labs, ["--labs", str(labs)]),
                         ("command line", ["--ldh", "450 U/L", "--ldh-uln", "1500"])):
        for population in ("adult", "neonate"):
            assert main([*count, *args, "--population", population]) == 2
            out, err = capsys.readouterr()
            if population == "adult":  # a limit no assay gives after the neonatal period
                assert err.startswith(f"smearscan verdict: {source}: ldh_uln (--ldh-uln) = 1500")
            else:
                assert err == f"smearscan verdict: {source}: {why}\n"
            assert out.startswith("URGENT - TTP likely: a medical emergency.")


#: A TTP picture in which the LDH alone shows haemolysis, the platelets not counted (QA 38's
#: LDH_ONLY_MARKER; beside platelets measured normal one marker shows none: QA 79 N1).
LDH_DECIDES = ["verdict", "--schistocytes", "3", "--rbc-counted", "1000", "--dat", "negative",
               "--haptoglobin", "1.2 g/L", "--reticulocytes", "1 %",
               "--adamts13", "5", "--mcv", "85", "--inr", "1.0", "--creatinine", "1.0 mg/dL",
               "--active-cancer", "no", "--transplant", "no"]


@pytest.mark.parametrize(("ldh", "uln", "like", "why"), [
    # qacli8 H-1: an LDH or limit a unit away from plausible, refused with no line.
    ("19 U/L", "250", ["--ldh", "1140 U/L", "--ldh-uln", "250"],  # 19 ukat/L
     "ldh = '19 U/L': 19 U/L is outside the plausible range 20-100000 U/L (was it in ukat/L?)"),
    ("1500 U/L", "4.1", ["--ldh", "1500 U/L", "--ldh-uln", "246"],  # 4.1 ukat/L
     "ldh_uln = '4.1': 4.1 U/L is outside the plausible range 100-2000 U/L (was it in ukat/L?)"),
    ("19", "250", ["--ldh", "1140 U/L", "--ldh-uln", "250"],  # 19 U/L is implausible
     "ldh = '19': a bare number could be 19 U/L or 19 ukat/L (= 1140 U/L); give the unit, e.g. "
     "'19 U/L' or '19 ukat/L'"),
    # QA 130 #5: a limit of 60 (a slip for 600) read a normal LDH as raised.
    ("1500 U/L", "60", ["--ldh", "1500 U/L"],
     "ldh_uln = '60': 60 U/L is outside the plausible range 100-2000 U/L"),
    # No plausible reading: as without the limit, read over every limit (QA 130 #3).
    ("1500 U/L", "2500", ["--ldh", "1500 U/L"],
     "ldh_uln = '2500': 2500 U/L is outside the plausible range 100-2000 U/L"),
])
def test_a_refused_value_keeps_the_urgent_line_its_readings_give(ldh, uln, like, why, capsys):
    assert main([*LDH_DECIDES, *like]) == 0
    expected = capsys.readouterr().out.splitlines()[0]
    assert expected.startswith("URGENT - TTP likely")
    assert main([*LDH_DECIDES, "--ldh", ldh, "--ldh-uln", uln]) == 2
    captured = capsys.readouterr()
    assert captured.out == expected + "\n"
    assert captured.err == f"smearscan verdict: command line: {why}\n"


#: QA 116 H-1: platelets 20, a French TMA score of 2 and sepsis, ISTH overt DIC 4 without the
#: fibrinogen's point.
SEPTIC_TTP = ["verdict", "--schistocytes", "3", "--rbc-counted", "1000", "--platelets", "20",
              "--mcv", "95", "--ldh", "1500 U/L", "--ldh-uln", "250", "--haptoglobin", "<0.1 g/L",
              "--reticulocytes", "6 %", "--indirect-bilirubin", "2.5 mg/dL", "--dat", "negative",
              "--creatinine", "1 mg/dL", "--inr", "1.6", "--pt-prolongation-s", "2",
              "--sepsis", "yes", "--d-dimer", "2 mg/L", "--d-dimer-uln", "0.5 mg/L",
              "--active-cancer", "yes", "--transplant", "no"]




#: Seed 000's picture (CLINICAL.md): platelets 82 and an active cancer; its ADAMTS13 alone
#: decides whether the URGENT line is printed.
SEED_PICTURE = ["verdict", "--schistocytes", "9", "--rbc-counted", "1200", "--hemoglobin",
                "7.55 g/dL", "--platelets", "82", "--mcv", "104", "--reticulocytes", "18.81 %",
                "--ldh", "2477 U/L", "--ldh-uln", "225 U/L", "--haptoglobin", "0 g/L",
                "--indirect-bilirubin", "4.21 mg/dL", "--dat", "negative", "--creatinine",
                "0.64 mg/dL", "--inr", "1.17", "--active-cancer", "yes", "--transplant", "no"]


@pytest.mark.parametrize(("written", "plain", "unit"), [
    ("4 % L", "4 %", "% L"), ("4*", "4 %", "*"), ("4 % (L)", "4 %", "% (L)"),
    ("4 %H", "4 %", "%H"),
    # QA 140 H-1: read in IU/mL too (100%), "TTP suspected" weakened to "possible".
    ("1 % L", "1 %", "% L"), ("0.5 %*", "0.5 %", "%*"), ("<1 % L", "<1 %", "% L"),
    # QA 141 H-1, H-2: a unit read after spaces and words are set aside, and flags in words,
    # HL7's letters and arrows.
    ("1 percent L", "1 %", "percent L"), ("1 IU / dL L", "1 %", "IU / dL L"),
    ("1 % crit", "1 %", "% crit"), ("1 % A", "1 %", "% A"), ("1 % ↓", "1 %", "% ↓"),
    ("1 % L L L", "1 %", "% L L L"),
    # QA 142 H-1: a flag after a no-break space or a tab; H-3: flags of several words, HL7's
    # other letters, punctuation, a mark before the unit, what a report writes after it.
    ("1 %\u00a0L", "1 %", "%\u00a0L"), ("1 %\tL", "1 %", "%\tL"),
    ("1 % critical low", "1 %", "% critical low"), ("1 % L (crit)", "1 %", "% L (crit)"),
    ("1 % LU", "1 %", "% LU"), ("1 % - L", "1 %", "% - L"), ("1 % ▼", "1 %", "% ▼"),
    ("1* %", "1 %", "* %"), ("1 % of normal", "1 %", "% of normal")])
def test_an_adamts13_with_a_labs_flag_keeps_the_line_of_its_number(written, plain, unit,
                                                                    capsys):
    # QA 139 H-1: an unknown unit (a flag after the value) was read only as not given: a
    # severe deficiency lost its "TTP likely" line, and nothing was printed.
    assert main([*SEED_PICTURE, "--adamts13", plain]) == 0
    expected = capsys.readouterr().out.splitlines()[0]
    assert expected.startswith("URGENT - TTP likely")
    assert main([*SEED_PICTURE, "--adamts13", written]) == 2
    captured = capsys.readouterr()
    assert captured.out == expected + "\n"
    # QA 144 L-1: the refusal says it reads a flag, after which unit.
    after = "IU/dL" if "IU" in unit else "%" if "%" in unit or "percent" in unit else None
    flag = (" (a lab's flag? write the value alone with its unit)" if after is None else
            f" (a lab's flag after {after}? write the value alone with its unit)")
    assert captured.err == (f"smearscan verdict: command line: adamts13 = {written!r}: unknown "
                            f"unit {unit!r}{flag}; accepted: %, IU/dL, IU/mL, U/dL, U/mL\n")


#: A high PLASMIC without its platelets (TTP suspected all the same), and with platelets 15:
#: TTP suspected without ADAMTS13, likely at 1%.
PLASMIC_HIGH_SANS_PLATELETS = [
    "verdict", "--schistocytes", "5", "--rbc-counted", "1200", "--ldh", "900 U/L", "--ldh-uln",
    "250 U/L", "--haptoglobin", "<0.1 g/L", "--reticulocytes", "6 %", "--mcv", "85",
    "--creatinine", "1 mg/dL", "--inr", "1.1", "--active-cancer", "no", "--transplant", "no"]
PLASMIC_HIGH = [*PLASMIC_HIGH_SANS_PLATELETS, "--platelets", "15"]


@pytest.mark.parametrize("written", ["1", "0.5", "1 L", "1*", "1 (L)"])
def test_a_refused_adamts13_never_says_less_than_leaving_it_out(written, capsys):
    # QA 142 H-2: '1' may be 1% (TTP likely) or 1 IU/mL (100%, no line): "TTP possible", where
    # the values without it say "suspected". A reading that calls for no line never weakens the
    # line below that of the value left out.
    assert main(PLASMIC_HIGH) == 0
    assert capsys.readouterr().out.startswith("URGENT - TTP suspected:")
    assert main([*PLASMIC_HIGH, "--adamts13", written]) == 2
    line = capsys.readouterr().out
    assert line.startswith("URGENT - TTP suspected: a medical emergency. Refer to haematology "
                           "now; a value refused as written decides the verdict: correct it "
                           "(this tool's rule); ADAMTS13 is one of the values in question")
    assert len(line.splitlines()) == 1


@pytest.mark.parametrize("refused", [
    # QA 143 H-1: beside a second value refused (haemoglobin 8 g/dL or 8 mmol/L), "possible".
    ["--hemoglobin", "8", "--adamts13", "1"],
    # QA 143 M-1: 1.5 x10^9/L calls for "suspected", 1500 for none: the line lost "correct it".
    ["--platelets", "1500"]])
def test_a_refusal_at_the_line_of_the_values_left_out_still_asks_for_the_value(refused,
                                                                              capsys):
    values = PLASMIC_HIGH if "--platelets" not in refused else PLASMIC_HIGH_SANS_PLATELETS
    assert main(PLASMIC_HIGH_SANS_PLATELETS) == 0
    assert capsys.readouterr().out.startswith("URGENT - TTP suspected:")
    assert main([*values, *refused]) == 2
    assert capsys.readouterr().out.startswith(
        "URGENT - TTP suspected: a medical emergency. Refer to haematology now; a value refused "
        "as written decides the verdict: correct it (this tool's rule); ")


@pytest.mark.parametrize("written", ["4 U/dL", "0.04 U/mL", "4 percent", "4 pct"])
def test_adamts13_units_without_the_i_and_percent_in_words_are_read(written, capsys):
    assert main([*SEED_PICTURE, "--adamts13", "4 %"]) == 0
    expected = capsys.readouterr().out
    assert main([*SEED_PICTURE, "--adamts13", written]) == 0
    assert capsys.readouterr().out == expected


#: QA 139 H-2's values: ADAMTS13 3% beside platelets 10 and haemolysis.
CAPITALS = {"hemoglobin": "8 g/dL", "platelets": "10", "mcv": "85", "ldh": "1500 U/L",
            "ldh_uln": "250 U/L", "haptoglobin": "<0.1 g/L", "adamts13": "3 %"}


@pytest.mark.parametrize("form", ["json", "csv row"])
def test_lab_keys_in_capitals_are_read_as_the_keys(form, tmp_path, capsys):
    # QA 139 H-2: 'Hemoglobin', 'LDH_ULN', 'ADAMTS13' (a laboratory export's capitals) were
    # refused, and past the problems read every way the ADAMTS13 of 3% as not given: "TTP
    # possible ... draw a sample for ADAMTS13", where the same file in lower case gives "TTP
    # likely".
    count = ["verdict", "--schistocytes", "5", "--rbc-counted", "1200", "--slide", "s1"]
    assert main([*count, "--labs", str(_lab_file(tmp_path, {"s1": CAPITALS}, form))]) == 0
    expected = capsys.readouterr().out
    assert expected.startswith("URGENT - TTP likely")
    capitals = {key.capitalize() if key.startswith("h") else key.upper(): value
                for key, value in CAPITALS.items()}
    assert main([*count, "--labs", str(_lab_file(tmp_path, {"s1": capitals}, form))]) == 0
    assert capsys.readouterr().out == expected


def test_misspelt_keys_read_adamts13_first_whatever_their_order(tmp_path, capsys):
    # QA 139 H-2: past the problems read every way, the misspelt keys were read in the file's
    # order, an ADAMTS13 last as not given: "TTP possible", not the "likely" its 3% calls for.
    misspelt = {"hemoglobn": "8 g/dL", "plateletz": "10", "mcvv": "85", "ldhh": "1500 U/L",
                "ldh_ulm": "250 U/L", "haptoglobn": "<0.1 g/L", "adamts_13": "3 %"}
    path = _lab_file(tmp_path, {"s1": misspelt}, "json")
    assert main(["verdict", "--schistocytes", "5", "--rbc-counted", "1200", "--slide", "s1",
                 "--labs", str(path)]) == 2
    assert capsys.readouterr().out.startswith("URGENT - TTP likely")


def _lab_options(options: list[str]) -> dict[str, str]:
    """``--key value`` pairs of lab options as the keys and values of a lab file."""
    pairs = zip(options[::2], options[1::2], strict=True)
    return {key[2:].replace("-", "_"): value for key, value in pairs}


#: The lab values of LDH_DECIDES, with the count of its smear.
COUNT = LDH_DECIDES[:5]
FILE_LABS = _lab_options(LDH_DECIDES[5:])


@pytest.mark.parametrize(("written", "corrected", "why"), [
    ({"ldh": "19 U/L", "ldh_uln": "250"}, {"ldh": "1140 U/L", "ldh_uln": "250"},
     "ldh = '19 U/L': 19 U/L is outside the plausible range 20-100000 U/L (was it in ukat/L?)"),
    ({"ldh": "19", "ldh_uln": "250"}, {"ldh": "1140 U/L", "ldh_uln": "250"},
     "ldh = '19': a bare number could be 19 U/L or 19 ukat/L (= 1140 U/L); give the unit, e.g. "
     "'19 U/L' or '19 ukat/L'"),
])
@pytest.mark.parametrize("form", ["json", "csv row"])
def test_a_value_refused_in_a_lab_file_keeps_the_urgent_line_its_readings_give(
        written, corrected, why, form, tmp_path, capsys):
    # A value refused in a lab file was refused with no line, where the same value on the
    # command line kept it (the last session's note: "correct the file").
    right = {"s1": FILE_LABS | corrected}
    assert main([*COUNT, "--labs", str(_lab_file(tmp_path, right, "json")), "--slide",
                 "s1"]) == 0
    expected = capsys.readouterr().out.splitlines()[0]
    assert expected.startswith("URGENT - TTP likely")
    path = _lab_file(tmp_path, {"s1": FILE_LABS | written}, form)
    assert main([*COUNT, "--labs", str(path), "--slide", "s1"]) == 2
    captured = capsys.readouterr()
    assert captured.out == expected + "\n"
    where = {"json": f"{path} slide 's1'", "csv row": f"{path} line 2 (slide 's1')"}[form]
    assert captured.err == f"smearscan verdict: {where}: {why}\n"


def _lab_file(folder, rows: dict[str, dict[str, str]], form: str):
    """A lab file, JSON or CSV, of ``rows``: lab values by slide."""
    if form == "json":
        path = folder / "labs.json"
        path.write_text(json.dumps(rows))
        return path
    path = folder / "labs.csv"
    keys = list(next(iter(rows.values())))
    path.write_text("\n".join([",".join(["slide", *keys]),
                               *(",".join([slide, *(row[k] for k in keys)])
                                 for slide, row in rows.items())]) + "\n")
    return path


def test_a_value_refused_in_a_lab_file_gives_no_line_where_no_reading_calls_for_one(
        tmp_path, capsys):
    labs = tmp_path / "labs.json"
    labs.write_text(json.dumps({"hemoglobin": "8", "platelets": "250"}))
    assert main(["verdict", "--schistocytes", "0.5", "--labs", str(labs)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (f"smearscan verdict: {labs}: hemoglobin = '8': a bare number could "
                            "be 8 g/dL or 8 mmol/L (= 12.89 g/dL); give the unit, e.g. '8 g/dL' "
                            "or '8 mmol/L'\n")


@pytest.mark.parametrize("ldh", ["200 U/L", "1140 U/L"])
def test_a_value_refused_in_a_lab_file_keeps_the_line_of_the_command_lines_values(
        ldh, tmp_path, capsys):
    # The command line's value replaces the file's refused one in every reading: the line is
    # that of the command line's value over the file's, and the file is still refused.
    right = _lab_file(tmp_path, {"s1": FILE_LABS | {"ldh": "900 U/L", "ldh_uln": "250"}}, "csv")
    assert main([*COUNT, "--labs", str(right), "--slide", "s1", "--ldh", ldh]) == 0
    expected = capsys.readouterr().out.splitlines()[0]
    assert expected.startswith("URGENT - TTP")
    wrong = _lab_file(tmp_path, {"s1": FILE_LABS | {"ldh": "19 U/L", "ldh_uln": "250"}}, "json")
    assert main([*COUNT, "--labs", str(wrong), "--slide", "s1", "--ldh", ldh]) == 2
    assert capsys.readouterr().out == expected + "\n"


#: A TTP picture (platelets 10, ADAMTS13 5%) with a pair of values that contradict each other.
SEVERE = {"platelets": "10", "hemoglobin": "8 g/dL", "adamts13": "5 %"}


@pytest.mark.parametrize(("in_file", "on_command_line", "why"), [
    # QA 41 H-1: a lab file's D-dimer in ng/mL against the command line's ULN in mg/L.
    ({"d_dimer": "5 ng/mL"}, {"d_dimer_uln": "0.5 mg/L"},
     "{labs} and the command line: d_dimer = 5 ng/mL is 0.01x d_dimer_uln = 500 ng/mL (under "
     "0.05x, below any assay's detection limit): are both in the same unit (mg/L vs ng/mL is "
     "1000x)? An undetectable D-dimer is given as a bound, e.g. '<0.2 mg/L', "
     "and one past the assay's range as one within it, e.g. '>20 mg/L' (ISTH "
     "scores any over 7x alike)"),
    # QA 41 H-2: the file's metastatic cancer, said not active on the command line.
    ({"metastatic_cancer": "yes"}, {"active_cancer": "no"},
     "{labs} and the command line: metastatic_cancer = True but active_cancer = False: a "
     "metastatic cancer is an active one; correct one of them"),
    # QA 41 H-3: the same, all in the file.
    ({"metastatic_cancer": "yes", "active_cancer": "no"}, {},
     "{labs}: metastatic_cancer = True but active_cancer = False: a metastatic cancer is an "
     "active one; correct one of them"),
    # QA 41 M-2: a misspelt column.
    ({"plateletz": "10"}, {}, "{labs}: unknown lab key 'plateletz'; did you mean 'platelets'?"),
    # QA 120 H-1: a bare D-dimer in the file beside its limit with a unit on the command line
    # was read as 30 ng/mL (0.06x); refused when both are in one source. Either way round.
    ({"d_dimer": "30"}, {"d_dimer_uln": "0.5 mg/L"},
     "{labs} and the command line: d_dimer and d_dimer_uln: one is written in mg/L and the other "
     "bare: give both with units or both bare"),
    ({"d_dimer_uln": "0.5 mg/L"}, {"d_dimer": "30"},
     "{labs} and the command line: d_dimer and d_dimer_uln: one is written in mg/L and the other "
     "bare: give both with units or both bare"),
    ({"d_dimer": "3 mg/L FEU"}, {"d_dimer_uln": "0.25 mg/L DDU"},
     "{labs} and the command line: d_dimer in mg/L FEU and d_dimer_uln in mg/L DDU: FEU and DDU "
     "differ about 2x"),
])
def test_two_values_that_contradict_each_other_keep_the_line_both_corrections_give(
        in_file, on_command_line, why, tmp_path, capsys):
    # Either one read as not given gives "TTP likely": so does the refusal.
    labs = tmp_path / "labs.json"
    labs.write_text(json.dumps(SEVERE | in_file))
    options = [x for key, value in on_command_line.items()
               for x in (f"--{key.replace('_', '-')}", value)]
    assert main(["verdict", "--schistocytes", "0.5", "--labs", str(labs), *options]) == 2
    captured = capsys.readouterr()
    assert captured.out.startswith("URGENT - TTP likely")
    assert captured.err == f"smearscan verdict: {why.format(labs=labs)}\n"


def test_a_value_refused_in_another_slides_row_leaves_this_slides_verdict(tmp_path, capsys):
    # QA 93 #6: one patient's row refused every other slide's verdict; a run judges each row
    # only with its slide. QA 41 M-1: the refusal names the file and the row.
    rows = {"s1": SEVERE, "s2": SEVERE | {"metastatic_cancer": "yes", "active_cancer": "no"}}
    labs = tmp_path / "labs.json"
    labs.write_text(json.dumps(rows))
    assert main(["verdict", "--schistocytes", "0.5", "--labs", str(labs), "--slide", "s1"]) == 0
    alone = capsys.readouterr()
    (tmp_path / "alone").mkdir()
    assert main(["verdict", "--schistocytes", "0.5", "--labs", str(_lab_file(
        tmp_path / "alone", {"s1": SEVERE}, "json")), "--slide", "s1"]) == 0
    assert alone == capsys.readouterr()
    assert alone.out.startswith("URGENT - TTP likely")
    assert main(["verdict", "--schistocytes", "0.5", "--labs", str(labs), "--slide", "s2"]) == 2
    captured = capsys.readouterr()
    assert captured.out.startswith("URGENT - TTP likely")
    assert captured.err == (f"smearscan verdict: {labs} slide 's2': metastatic_cancer = True but "
                            "active_cancer = False: a metastatic cancer is an active one; "
                            "correct one of them\n")


#: Without ADAMTS13, platelets decide between "TTP suspected" (PLASMIC) and "possible".
PLATELETS_DECIDE = {"hemoglobin": "8 g/dL", "ldh": "900 U/L", "ldh_uln": "250",
                    "haptoglobin": "0.05 g/L", "reticulocytes": "4", "dat": "negative",
                    "creatinine": "1.0", "inr": "1.1", "mcv": "90", "active_cancer": "no",
                    "transplant": "no"}
TWO_CONTRADICTIONS = {"metastatic_cancer": "yes", "active_cancer": "no", "pregnancy": "yes",
                      "sex": "male"}


def _drop(values: dict[str, str], *keys: str) -> dict[str, str]:
    return {key: value for key, value in values.items() if key not in keys}


@pytest.mark.parametrize(("schistocytes", "in_file", "on_command_line", "corrections", "why"), [
    # QA 42 H-1: two contradictions in one file.
    ("3", SEVERE | TWO_CONTRADICTIONS, {},
     [(_drop(SEVERE | TWO_CONTRADICTIONS, "active_cancer", "sex"), {}),
      (_drop(SEVERE | TWO_CONTRADICTIONS, "metastatic_cancer", "pregnancy"), {})],
     "{labs}: metastatic_cancer = True but active_cancer = False: a metastatic cancer is an "
     "active one; correct one of them (also refused: pregnancy against sex)"),
    # ... a contradiction and a misspelt key (read as the key it is close to, QA 42 H-5).
    ("3", _drop(SEVERE, "platelets") | {"plateletz": "10", "pregnancy": "yes", "sex": "male"}, {},
     [(SEVERE | {"pregnancy": "yes"}, {}), (SEVERE | {"sex": "male"}, {})],
     "{labs}: unknown lab key 'plateletz'; did you mean 'platelets'? (also refused: pregnancy "
     "against sex)"),
    # ... a PT given as the prothrombin time and a D-dimer 1000x off its limit.
    ("3", SEVERE | {"pt_prolongation_s": "13.5", "inr": "1.17", "d_dimer": "5 ng/mL",
                    "d_dimer_uln": "0.5 mg/L"}, {},
     [(SEVERE | {"inr": "1.17", "d_dimer": "5 mg/L", "d_dimer_uln": "0.5 mg/L"}, {}),
      (SEVERE | {"pt_prolongation_s": "2", "inr": "1.17"}, {})],
     "{labs}: d_dimer = 5 ng/mL is 0.01x d_dimer_uln = 500 ng/mL (under 0.05x, below any "
     "assay's detection limit): are both in the same unit (mg/L vs ng/mL is 1000x)? An "
     "undetectable D-dimer is given as a bound, e.g. '<0.2 mg/L', "
     "and one past the assay's range as one within it, e.g. '>20 mg/L' (ISTH "
     "scores any over 7x alike) (also refused: "
     "pt_prolongation_s against inr)"),
    # QA 42 H-2: two contradictions between the file and the command line.
    ("3", SEVERE | {"metastatic_cancer": "yes", "pregnancy": "yes"},
     {"active_cancer": "no", "sex": "male"},
     [(SEVERE | {"metastatic_cancer": "yes", "pregnancy": "yes"}, {}),
      (SEVERE, {"active_cancer": "no", "sex": "male"})],
     "{labs} and the command line: metastatic_cancer = True but active_cancer = False: a "
     "metastatic cancer is an active one; correct one of them (also refused: pregnancy against "
     "sex)"),
    # QA 42 H-3: two contradictions on the command line.
    ("0.5", {}, SEVERE | TWO_CONTRADICTIONS,
     [({}, _drop(SEVERE | TWO_CONTRADICTIONS, "active_cancer", "sex")),
      ({}, _drop(SEVERE | TWO_CONTRADICTIONS, "metastatic_cancer", "sex"))],
     "command line: metastatic_cancer = True but active_cancer = False: a metastatic cancer is "
     "an active one; correct one of them (also refused: pregnancy against sex)"),
    # QA 42 H-4: a contradiction beside an LDH in ukat/L written as U/L: "likely", as every
    # correction, not "possible".
    ("0.5", {}, {"hemoglobin": "8 g/dL", "platelets": "250", "dat": "negative",
                 "adamts13": "5 %", "ldh": "19 U/L", "ldh_uln": "250", "sex": "male",
                 "pregnancy": "yes"},
     [({}, {"hemoglobin": "8 g/dL", "platelets": "250", "dat": "negative", "adamts13": "5 %",
            "ldh": "1140 U/L", "ldh_uln": "250", "sex": sex}) for sex in ("male", "female")],
     "command line: ldh = '19 U/L': 19 U/L is outside the plausible range 20-100000 U/L (was "
     "it in ukat/L?) (also refused: pregnancy against sex)"),
    # QA 42 H-5: a misspelt key is read as the key it is close to ("TTP suspected", not the
    # "possible" of platelets not given).
    ("3", PLATELETS_DECIDE | {"plateletz": "10"}, {},
     [(PLATELETS_DECIDE | {"platelets": "10"}, {})],
     "{labs}: unknown lab key 'plateletz'; did you mean 'platelets'?"),
    # QA 43 H-4: a key misspelt is read as the key it is close to ("possible" without
    # ADAMTS13); one in upper case is read as it since QA 139 H-2 (below).
    ("3", _drop(SEVERE, "adamts13") | {"adamts-13": "5 %"}, {}, [(SEVERE, {})],
     "{labs}: unknown lab key 'adamts-13'; did you mean 'adamts13'?"),
    # QA 43 H-3: an option misspelt is read as a misspelt lab key (refused with no line).
    ("3", {}, SEVERE | {"adamts-13": "5 %", "adamts13": None},
     [({}, SEVERE)],
     "command line: unknown option '--adamts-13'; did you mean '--adamts13'?"),
    # ... beside an option close to no lab key, read as not given.
    ("3", {}, SEVERE | {"adamts-13": "5 %", "adamts13": None, "foo": "3"},
     [({}, SEVERE)],
     "command line: unknown option '--adamts-13'; did you mean '--adamts13'? (also refused: "
     "--foo)"),
    # ... but never replaces the option it is close to.
    ("3", {}, SEVERE | {"ldh": "900 U/L", "ldh_uln": "250 U/L", "ldh__uln": "1000 U/L"},
     [({}, SEVERE | {"ldh": "900 U/L", "ldh_uln": "250 U/L"})],
     "command line: unknown option '--ldh--uln'; did you mean '--ldh-uln'?"),
    # QA 43 H-3: an option given twice, a key twice in one JSON object: read as each copy.
    ("3", {}, [*SEVERE.items(), ("adamts13", "5 %")], [({}, SEVERE)],
     "command line: adamts13 given twice ('5 %' and '5 %'): keep the one the verdict should "
     "use"),
    ("3", {}, [*SEVERE.items(), ("platelets", "15")],
     [({}, SEVERE), ({}, SEVERE | {"platelets": "15"})],
     "command line: platelets given twice ('10' and '15'): keep the one the verdict should use"),
    ("3", json.dumps(SEVERE)[:-1] + ', "adamts13": "4 %"}', {},
     [(SEVERE, {}), (SEVERE | {"adamts13": "4 %"}, {})],
     "{labs}: adamts13 given twice ('5 %' and '4 %'): keep the one the verdict should use"),
    # QA 43 H-1: a value with no reading but not given beside a bare ADAMTS13 (it sent the
    # ADAMTS13's readings to those without it: "possible").
    ("3", {}, SEVERE | {"adamts13": "0.05", "transplant": "maybe"},
     [({}, SEVERE | {"adamts13": adamts13, "transplant": transplant})
      for adamts13 in ("0.05 %", "0.05 IU/mL") for transplant in ("yes", "no")],
     "command line: adamts13 = '0.05': a bare number could be 0.05% or 0.05 IU/mL (= 5%); give "
     "the unit, e.g. '0.05 %' or '0.05 IU/mL' (also refused: transplant)"),
])
def test_problems_refused_together_keep_the_line_every_correction_gives(
        schistocytes, in_file, on_command_line, corrections, why, tmp_path, capsys):
    labs = tmp_path / "labs.json"

    def run(values: dict[str, str] | str, options: dict[str, str] | list[tuple[str, str]]
            ) -> tuple[int, str, str]:
        labs.write_text(values if isinstance(values, str) else json.dumps(values))
        pairs = options.items() if isinstance(options, dict) else options
        code = main(["verdict", "--schistocytes", schistocytes,
                     *(["--labs", str(labs)] if values else []),
                     *(x for key, value in pairs if value is not None
                       for x in (f"--{key.replace('_', '-')}", value))])
        captured = capsys.readouterr()
        return code, captured.out.split("\n")[0], captured.err

    lines = {run(values, options)[:2] for values, options in corrections}
    assert len(lines) == 1
    code, expected = lines.pop()
    assert code == 0 and expected.startswith("URGENT - TTP")
    assert run(in_file, on_command_line) == (
        2, expected, f"smearscan verdict: {why.format(labs=labs)}\n")


def test_problems_in_the_file_and_on_the_command_line_count_together(tmp_path, capsys):
    # QA 43 M-1: six in each were read every way and multiplied (over 13 minutes). Seven in
    # all: the source whose problems the line rests on more is read first, so the command
    # line's bare ADAMTS13 is read every way and the file's sixth, the folate, only as not
    # given (QA 44: the ADAMTS13 was read only as not given, "TTP possible" for "likely").
    six = {"wbc": "300", "indirect_bilirubin": "3", "fibrinogen": "12", "vitamin_b12": "300",
           "folate": "5", "haptoglobin_lln": "0.3"}
    labs = tmp_path / "labs.json"
    labs.write_text(json.dumps(_drop(SEVERE, "adamts13") | six))
    assert main(["verdict", "--schistocytes", "3", "--labs", str(labs), "--adamts13", "0.05"]) == 2
    refused = capsys.readouterr().out.split("\n")[0]
    labs.write_text(json.dumps(_drop(SEVERE, "adamts13")))
    assert main(["verdict", "--schistocytes", "3", "--labs", str(labs), "--adamts13", "5 %"]) == 0
    assert refused == capsys.readouterr().out.split("\n")[0]
    assert refused.startswith("URGENT - TTP likely")
    # The other way round, the bare ADAMTS13 among six in the file, a bare folate on the
    # command line: the file is read first, and the folate only as not given.
    labs.write_text(json.dumps(_drop(SEVERE, "adamts13") | _drop(six, "folate")
                               | {"adamts13": "0.05"}))
    assert main(["verdict", "--schistocytes", "3", "--labs", str(labs), "--folate", "5"]) == 2
    assert capsys.readouterr().out.split("\n")[0] == refused


def test_an_option_spelt_as_its_key_does_not_replace_the_option(capsys):
    # Review of 677d779: '--ldh_uln 1000' was read as ldh_uln itself, and silently replaced
    # '--ldh-uln 250': "LDH within the lab's upper limit".
    assert main(["verdict", "--schistocytes", "3", "--platelets", "12", "--ldh", "900 U/L",
                 "--ldh-uln", "250 U/L", "--ldh_uln", "1000 U/L"]) == 2
    refused = capsys.readouterr()
    assert main(["verdict", "--schistocytes", "3", "--platelets", "12", "--ldh", "900 U/L",
                 "--ldh-uln", "250 U/L"]) == 0
    assert refused.out.split("\n")[0] == capsys.readouterr().out.split("\n")[0]
    assert refused.err == ("smearscan verdict: command line: unknown option '--ldh_uln'; did "
                           "you mean '--ldh-uln'?\n")


@pytest.mark.parametrize(("stray", "why"), [
    (["%"], "command line: unrecognized arguments: %"),
    (["--adamts13", "5 %", "--xyzzy"], "command line: unknown option '--xyzzy'; --help lists "
                                       "the options"),
    (["--adamts13", "0.05", "%"], "command line: adamts13 = '0.05': a bare number could be 0.05% "
                                  "or 0.05 IU/mL (= 5%); give the unit, e.g. '0.05 %' or '0.05 "
                                  "IU/mL' (also unrecognized arguments: %)"),
])
def test_words_the_command_line_does_not_know_keep_the_line(stray, why, capsys):
    # QA 43 H-3: '--adamts13 5 %' (the unit a word of its own) was refused with no line.
    picture = ["verdict", "--schistocytes", "3", "--platelets", "10", "--hemoglobin", "8 g/dL"]
    assert main([*picture, "--adamts13", "5 %"]) == 0
    expected = capsys.readouterr().out.split("\n")[0]
    assert expected.startswith("URGENT - TTP likely")
    assert main([*picture, *(["--adamts13", "5"] if stray == ["%"] else []), *stray]) == 2
    refused = capsys.readouterr()
    assert (refused.out.split("\n")[0], refused.err) == (expected,
                                                         f"smearscan verdict: {why}\n")


@pytest.mark.parametrize(("refused", "corrected", "why"), [
    # QA 44 H-3: an abbreviation was read silently ('--ad' as --adamts13), or refused as
    # ambiguous with no line ('--hapto').
    (["--adamts13", "5 %", "--hapto", "<0.1 g/L"], ["--adamts13", "5 %", "--haptoglobin",
                                                    "<0.1 g/L"],
     "command line: unknown option '--hapto'; did you mean '--haptoglobin'?"),
    (["--ad", "5 %"], [], "command line: unknown option '--ad'; --help lists the options"),
    # QA 44 H-1: a percentage no whole number of the red cells counted gives.
    (["--adamts13", "5 %", "--rbc-counted", "1000", "--schistocytes", "3.33"],
     ["--adamts13", "5 %", "--rbc-counted", "1000", "--schistocytes", "3.3"],
     "error: --schistocytes 3.33 of --rbc-counted 1000 is 33.3 cells, not a whole number (33 of "
     "1000 is 3.3%): give the percentage of the count (this tool's rule) (see smearscan verdict "
     "--help)"),
])
def test_a_refused_option_keeps_the_line_of_its_correction(refused, corrected, why, capsys):
    picture = ["verdict", "--platelets", "10", "--hemoglobin", "8 g/dL"]
    count = [] if "--schistocytes" in refused else ["--schistocytes", "3"]
    assert main([*picture, *count, *corrected]) == 0
    expected = capsys.readouterr().out.split("\n")[0]
    assert expected.startswith("URGENT - TTP")
    assert _exit_code([*picture, *count, *refused]) == 2
    captured = capsys.readouterr()
    assert (captured.out.split("\n")[0], captured.err) == (expected,
                                                           f"smearscan verdict: {why}\n")


def test_a_misspelt_option_beside_its_key_is_read_as_the_key_given_twice(capsys):
    # QA 44 M-2: '--adamts-13 5%' beside '--adamts13 50%' was read only as not given: no line,
    # where the 5% reading gives "TTP likely".
    picture = ["verdict", "--schistocytes", "3", "--platelets", "10", "--hemoglobin", "8 g/dL"]
    assert main([*picture, "--adamts13", "50 %", "--adamts13", "5 %"]) == 2
    twice = capsys.readouterr().out.split("\n")[0]
    assert twice == urgent_ttp("possible", "in question, refused")
    assert main([*picture, "--adamts13", "50 %", "--adamts-13", "5 %"]) == 2
    captured = capsys.readouterr()
    assert (captured.out.split("\n")[0], captured.err) == (
        twice, "smearscan verdict: command line: unknown option '--adamts-13'; did you mean "
               "'--adamts13'?\n")


def test_a_column_given_twice_in_a_lab_csv_keeps_the_line(tmp_path, capsys):
    labs = tmp_path / "labs.csv"
    labs.write_text("slide,platelets,hemoglobin,adamts13,adamts13\ns1,10,8 g/dL,5 %,4 %\n")
    assert main(["verdict", "--schistocytes", "3", "--platelets", "10", "--hemoglobin", "8 g/dL",
                 "--adamts13", "5 %"]) == 0
    expected = capsys.readouterr().out.split("\n")[0]
    assert main(["verdict", "--schistocytes", "3", "--labs", str(labs), "--slide", "s1"]) == 2
    refused = capsys.readouterr()
    assert (refused.out.split("\n")[0], refused.err) == (
        expected, f"smearscan verdict: {labs} line 2 (slide 's1'): adamts13 given twice ('5 %' and "
                  "'4 %'): keep the one the verdict should use\n")


def test_a_contradiction_with_the_command_line_names_the_files_row(tmp_path, capsys):
    # QA 42 M-2: a CSV's was named without its row.
    labs = _lab_file(tmp_path, {"s1": SEVERE | {"metastatic_cancer": "yes"}}, "csv")
    assert main(["verdict", "--schistocytes", "0.5", "--labs", str(labs), "--slide", "s1",
                 "--active-cancer", "no"]) == 2
    captured = capsys.readouterr()
    assert captured.out.startswith("URGENT - TTP likely")
    assert captured.err == (f"smearscan verdict: {labs} line 2 (slide 's1') and the command "
                            "line: metastatic_cancer = True but active_cancer = False: a "
                            "metastatic cancer is an active one; correct one of them\n")


SEVERE_CSV = "slide,platelets,hemoglobin,adamts13\ns1,10,8 g/dL,5 %\n"
SEVERE_OPTIONS = ["--platelets", "10", "--hemoglobin", "8 g/dL", "--adamts13", "5 %"]


@pytest.mark.parametrize(("name", "text", "args", "corrected", "why"), [
    # QA 43 M-2: a file refused for its structure kept no line, this slide's row intact.
    ("labs.csv", SEVERE_CSV + "s2,250,13 g/dL,80 %,1\n", ["--slide", "s1"], SEVERE_OPTIONS,
     "{labs} line 3: more cells than column names (a decimal comma? '250,13 g/dL' may be one "
     "value: write it with a decimal point, or quote it)"),
    ("labs.csv", SEVERE_CSV + "s1,10,8 g/dL,4 %\n", ["--slide", "s1"], SEVERE_OPTIONS,
     "{labs} line 3: slide 's1' has a row already, line 2: one row per slide"),
    ("labs.json", '{"s1": {"adamts13": "5 %"}, "s1": {"adamts13": "4 %"}}',
     ["--slide", "s1", *SEVERE_OPTIONS[:4]], SEVERE_OPTIONS,
     "{labs}: 's1' given twice ({{'adamts13': '5 %'}} and {{'adamts13': '4 %'}}): keep the one "
     "the verdict should use"),
    ("labs.csv", SEVERE_CSV, ["--slide", "S1"], SEVERE_OPTIONS,
     "{labs}: no lab values for slide 'S1' (has: s1); did you mean 's1'?"),
    # QA 44 H-4, M-1: the slide column twice, or named 'Slide', read as the slide column.
    ("labs.csv", "slide," + SEVERE_CSV.replace("\ns1,", "\ns1,s1,"), ["--slide", "s1"],
     SEVERE_OPTIONS, "{labs}: a lab CSV needs one 'slide' column"),
    ("labs.csv", "S" + SEVERE_CSV[1:], ["--slide", "s1"], SEVERE_OPTIONS,
     "{labs}: a lab CSV needs one 'slide' column (it has 'Slide': name the column 'slide', in "
     "lower case)"),
    # QA 44 H-2: a per-slide file without --slide is read as each row; a slide two rows are
    # a slip of, as each ('S_1' and 's1' for 'S1', QA 44 M-2).
    ("labs.csv", SEVERE_CSV, [], SEVERE_OPTIONS,
     "{labs}: the lab file is per slide; name the slide with --slide"),
    # QA 44 H-2, H-5: refused for their structure, read where they can be: this row split by
    # a decimal comma as each way of joining its cells with the fewest values refused, a
    # ';'-separated CSV by ';', one without a slide column as values of every slide, another
    # row with no slide name left out; a JSON list of objects as each, a slide given twice
    # as its object, values beside per-slide objects as completing them, a .txt as its text.
    # QA 73 L3: naming the values a decimal comma may have split.
    ("labs.csv", SEVERE_CSV.replace("8 g/dL", "8,0 g/dL"), ["--slide", "s1"], SEVERE_OPTIONS,
     "{labs} line 2: more cells than column names (a decimal comma? '8,0 g/dL' may be one "
     "value: write it with a decimal point, or quote it)"),
    ("labs.csv", SEVERE_CSV.replace(",", ";"), ["--slide", "s1"], SEVERE_OPTIONS,
     "{labs}: a lab CSV needs one 'slide' column (its header is one column with ';' in it: "
     "write it comma-separated)"),
    # QA 45 L-2: a row with a cell left out, at the end or in the middle, read as each way its
    # values fit their names.
    ("labs.csv", SEVERE_CSV.replace("adamts13", "adamts13,ldh"), ["--slide", "s1"],
     SEVERE_OPTIONS, "{labs} line 2: 4 cells for 5 column names: write an empty cell for each "
     "value not given (a comma each), so that every value stands under its name"),
    ("labs.csv", SEVERE_CSV.replace("hemoglobin,", "hemoglobin,ldh,"), ["--slide", "s1"],
     SEVERE_OPTIONS, "{labs} line 2: 4 cells for 5 column names: write an empty cell for each "
     "value not given (a comma each), so that every value stands under its name"),
    # QA 45 H-2, H-3, H-5: a row of a decimal-comma locale (a comma in every decimal), a
    # tab-separated file, no slide column beside a split decimal.
    ("labs.csv", "slide,platelets,hemoglobin,ldh,ldh_uln,creatinine,inr,adamts13\n"
                 "s1,12,7,5 g/dL,900 U/L,250 U/L,1,1 mg/dL,1,1,5 %\n", ["--slide", "s1"],
     ["--platelets", "12", "--hemoglobin", "7.5 g/dL", "--ldh", "900 U/L", "--ldh-uln",
      "250 U/L", "--creatinine", "1.1 mg/dL", "--inr", "1.1", "--adamts13", "5 %"],
     "{labs} line 2: more cells than column names (a decimal comma? '7,5 g/dL' or '1,1 mg/dL' "
     "or '1,5 %' may be one value: write it with a decimal point, or quote it)"),
    # QA 131 D1: Excel's line naming the separator, read as the header, lost the line.
    ("labs.csv", "sep=;\r\n" + SEVERE_CSV.replace(",", ";").replace("\n", "\r\n"),
     ["--slide", "s1"], SEVERE_OPTIONS,
     "{labs}: a lab CSV needs one 'slide' column (its header is one column with ';' in it: "
     "write it comma-separated)"),
    ("labs.csv", SEVERE_CSV.replace(",", "\t"), ["--slide", "s1"], SEVERE_OPTIONS,
     "{labs}: a lab CSV needs one 'slide' column (its header is one column with tabs in it: "
     "write it comma-separated)"),
    ("labs.csv", "platelets,hemoglobin,adamts13\n10,8,0 g/dL,5 %\n", [], SEVERE_OPTIONS,
     "{labs}: a lab CSV needs one 'slide' column"),
    ("labs.csv", "platelets,hemoglobin,adamts13\n10,8 g/dL,5 %\n", [], SEVERE_OPTIONS,
     "{labs}: a lab CSV needs one 'slide' column"),
    ("labs.json", json.dumps([SEVERE]), [], SEVERE_OPTIONS,
     "{labs}: expected a JSON object of lab values, or for several slides one keyed by slide "
     "name ({{\"s1\": {{...}}, \"s2\": {{...}}}}), not a list"),
    ("labs.json", json.dumps([{"s1": SEVERE}]), ["--slide", "s1"], SEVERE_OPTIONS,
     "{labs}: expected a JSON object of lab values, or for several slides one keyed by slide "
     "name ({{\"s1\": {{...}}, \"s2\": {{...}}}}), not a list"),
    ("labs.json", '{"s1": {"adamts13": "5 %"}, "s1": 5}', ["--slide", "s1", *SEVERE_OPTIONS[:4]],
     SEVERE_OPTIONS, "{labs}: 's1' given twice ({{'adamts13': '5 %'}} and 5): keep the one the "
     "verdict should use"),
    ("labs.json", '{"s1": ' + json.dumps(SEVERE) + ', "platelets": 10}', ["--slide", "s1"],
     SEVERE_OPTIONS, "{labs}: mixes lab values and per-slide objects at the top level"),
    ("labs.txt", json.dumps(SEVERE), [], SEVERE_OPTIONS,
     "{labs}: a lab file must be .json or .csv"),
    # This slide's row with its name left out, alone (values of every slide) or beside another
    # slide's: a row with no slide name may be any slide's.
    ("labs.csv", SEVERE_CSV.replace("\ns1,", "\n,"), ["--slide", "s1"], SEVERE_OPTIONS,
     "{labs} line 2: the slide name is empty"),
    ("labs.csv", SEVERE_CSV.replace("\ns1,", "\n,") + "s2,250,13 g/dL,80 %\n", ["--slide", "s1"],
     SEVERE_OPTIONS, "{labs} line 2: the slide name is empty; no lab values for slide 's1' "
     "(has: s2)"),
    # A JSON object whose last '}' was typed as ',': read as it, repaired without a guess.
    ("labs.json", json.dumps(SEVERE)[:-1] + ",", [], SEVERE_OPTIONS,
     "{labs}: not valid JSON: Expecting property name enclosed in double quotes: line 1 column "
     "63 (char 62)"),
    # ... or unreadable, read as not given: the command line's values keep their line.
    ("labs.json", '{"platelets": 10, "adamts13": "5%", ', SEVERE_OPTIONS, SEVERE_OPTIONS,
     "{labs}: not valid JSON: Expecting property name enclosed in double quotes: line 1 column "
     "37 (char 36)"),
    # QA 43 L-1: problems in the file and on the command line are all named.
    ("labs.json", json.dumps(SEVERE | {"transplant": "maybe"}), ["--hemoglobin", "8"],
     [*SEVERE_OPTIONS, "--transplant", "no"],
     "{labs}: transplant = 'maybe': expected true/false (or yes/no, 1/0) (also refused on "
     "the command line: hemoglobin)"),
])
def test_a_lab_file_refused_whole_keeps_the_line_of_this_slides_values(
        name, text, args, corrected, why, tmp_path, capsys):
    assert main(["verdict", "--schistocytes", "3", *corrected]) == 0
    expected = capsys.readouterr().out.split("\n")[0]
    assert expected.startswith("URGENT - TTP likely")
    labs = tmp_path / name
    labs.write_text(text)
    assert main(["verdict", "--schistocytes", "3", "--labs", str(labs), *args]) == 2
    refused = capsys.readouterr()
    assert (refused.out.split("\n")[0], refused.err) == (
        expected, f"smearscan verdict: {why.format(labs=labs)}\n")


_NORMAL = {"platelets": "250", "hemoglobin": "14 g/dL", "adamts13": "80 %"}


@pytest.mark.parametrize(("name", "text", "args", "strength"), [
    # QA 146 H-1: a JSON list's object naming its slide beside an object of values was read as
    # a value named 'labs' of slide 's1', and lost its line; QA 147 H-1, H-2: read as slide
    # 'labs', and a slide's values beside an object of another kind as no values.
    ("labs.json", json.dumps([{"slide": "s1", "labs": SEVERE}]), [], "likely"),
    ("labs.json", json.dumps([{"slide": "s1", "labs": SEVERE}]), ["--slide", "s1"], "likely"),
    ("labs.json", json.dumps([{"slide": "s1", **SEVERE, "meta": {"site": "A"}}]),
     ["--slide", "s1"], "likely")])
def test_a_lab_file_refused_whole_reads_every_set_of_values_that_may_be_the_slides(
        name, text, args, strength, tmp_path, capsys):
    labs = tmp_path / name
    labs.write_text(text)
    assert main(["verdict", "--schistocytes", "3", "--labs", str(labs), *args]) == 2
    assert capsys.readouterr().out.startswith(f"URGENT - TTP {strength}: a medical emergency.")


def _line_alone(capsys, options: list[str], counts: list[str]) -> str:
    """The URGENT line ``options`` call for with the smear ``counts`` (none: a smear not known,
    the verdict refused)."""
    assert _exit_code(["verdict", *counts, *options]) == (0 if counts else 2)
    return capsys.readouterr().out.split("\n")[0]


_NORMAL_CSV = "250,14 g/dL,80 %"
_HEADER = "slide,platelets,hemoglobin,adamts13\n"


@pytest.mark.parametrize(("name", "text", "args", "rows", "why"), [
    # QA 146 H-3: rows with no slide name, one patient's TTP beside another's normal values,
    # were read together and said "TTP possible"; a run says each row's line.
    ("labs.csv", f"{_HEADER},10,8 g/dL,5 %\n,{_NORMAL_CSV}\n", [],
     [("line 2 (lab values with no slide name)", SEVERE_OPTIONS)],
     "{labs} line 2: the slide name is empty"),
    ("labs.csv", f"{_HEADER},{_NORMAL_CSV}\n,{_NORMAL_CSV}\n,10,8 g/dL,5 %\n", [],
     [("line 4 (lab values with no slide name)", SEVERE_OPTIONS)],
     "{labs} line 2: the slide name is empty"),
    ("labs.json", json.dumps([_NORMAL, SEVERE]), [],
     [("record 2 (lab values with no slide name)", SEVERE_OPTIONS)],
     "{labs}: expected a JSON object of lab values, or for several slides one keyed by slide "
     "name ({{\"s1\": {{...}}, \"s2\": {{...}}}}), not a list"),
    # A per-slide file without --slide: its rows are other slides', maybe other patients'.
    ("labs.csv", f"{SEVERE_CSV}s2,{_NORMAL_CSV}\n", [], [("line 2 (slide 's1')", SEVERE_OPTIONS)],
     "{labs}: the lab file is per slide; name the slide with --slide"),
    # QA 146 H-2: beside this slide's own row, a row with no slide name (this slide's, its name
    # left out, or another's) is read too, each apart.
    ("labs.csv", f"{_HEADER}s1,{_NORMAL_CSV}\n,10,8 g/dL,5 %\n", ["--slide", "s1"],
     [("line 3 (lab values with no slide name)", SEVERE_OPTIONS)],
     "{labs} line 3: the slide name is empty"),
    ("labs.json", json.dumps([{"slide": "s1", **_NORMAL}, SEVERE]), ["--slide", "s1"],
     [("record 2 (lab values with no slide name)", SEVERE_OPTIONS)],
     "{labs}: expected a JSON object of lab values, or for several slides one keyed by slide "
     "name ({{\"s1\": {{...}}, \"s2\": {{...}}}}), not a list"),
    ("labs.csv", f"{SEVERE_CSV},{_NORMAL_CSV}\n", ["--slide", "s1"],
     [("line 2 (slide 's1')", SEVERE_OPTIONS)], "{labs} line 3: the slide name is empty"),
    # QA 152 H-1: a CSV without a slide column, each row a set of values of its own.
    ("labs.csv", "platelets,hemoglobin,adamts13\n10,8 g/dL,5 %\n250,14 g/dL,80 %\n", [],
     [("line 2 (lab values with no slide name)", SEVERE_OPTIONS)],
     "{labs}: a lab CSV needs one 'slide' column"),
    # QA 147 L-3: beyond the 64 rows judged together, none was said.
    ("labs.csv", f"{_HEADER}s1,{_NORMAL_CSV}\n" + f",{_NORMAL_CSV}\n" * 64 + ",10,8 g/dL,5 %\n",
     ["--slide", "s1"], [("line 67 (lab values with no slide name)", SEVERE_OPTIONS)],
     "{labs} line 3: the slide name is empty"),
    ("labs.csv", _HEADER + f",{_NORMAL_CSV}\n" * 64 + ",10,8 g/dL,5 %\n", [],
     [("line 66 (lab values with no slide name)", SEVERE_OPTIONS)],
     "{labs} line 2: the slide name is empty"),
    ("labs.csv", _HEADER + "".join(f"s{i},{_NORMAL_CSV}\n" for i in range(64))
     + "s64,10,8 g/dL,5 %\n", [], [("line 66 (slide 's64')", SEVERE_OPTIONS)],
     "{labs}: the lab file is per slide; name the slide with --slide"),
    # QA 44 M-2: the rows of the slides a mistyped name is a slip of.
    ("labs.csv", SEVERE_CSV + "S_1,10,8 g/dL,15 %\n", ["--slide", "S1"],
     [("line 2 (slide 's1')", SEVERE_OPTIONS),
      ("line 3 (slide 'S_1')", [*SEVERE_OPTIONS[:4], "--adamts13", "15 %"])],
     "{labs}: no lab values for slide 'S1' (has: S_1, s1); did you mean 's1' or 'S_1'?")])
@pytest.mark.parametrize("counted", [True, False])
def test_rows_that_may_be_other_patients_values_each_say_their_own_line(
        name, text, args, rows, why, counted, tmp_path, capsys):
    labs = tmp_path / name
    labs.write_text(text)
    # Without --schistocytes (refused) the smear is read as not known, as each row alone.
    counts = ["--schistocytes", "3"] if counted else []
    expected = [f"{labs} {where}: {_line_alone(capsys, options, counts)}"
                for where, options in rows]
    assert all(" URGENT - TTP " in line for line in expected)
    assert _exit_code(["verdict", *counts, "--labs", str(labs), *args]) == 2
    refused = capsys.readouterr()
    assert refused.out == "\n".join(expected) + "\n"
    why = why.format(labs=labs)
    assert refused.err == (f"smearscan verdict: {why}\n" if counted else
                           "smearscan verdict: error: one of the arguments --schistocytes "
                           f"--summary is required (also refused: {why}) (see smearscan "
                           "verdict --help)\n")


def test_a_slide_given_two_rows_is_said_so_beside_its_line(tmp_path, capsys):
    # QA 152 M-1: the line over both rows of slide 's1' was named by its first row alone.
    labs = tmp_path / "labs.csv"
    labs.write_text(f"{_HEADER}s2,{_NORMAL_CSV}\ns1,{_NORMAL_CSV}\ns1,10,8 g/dL,5 %\n")
    assert main(["verdict", "--schistocytes", "3", "--labs", str(labs), "--slide", "s1"]) == 2
    over_both = capsys.readouterr().out.split("\n")[0]
    assert over_both.startswith("URGENT - TTP possible")
    assert main(["verdict", "--schistocytes", "3", "--labs", str(labs)]) == 2
    assert capsys.readouterr().out == (
        f"{labs} line 3 (slide 's1'), with 1 other reading of it: "
        f"{over_both}\n")


def test_a_refused_option_with_json_and_no_line_gives_json(capsys):
    # QA 152 L-1: nothing was printed on stdout where no line was due.
    assert _exit_code(["verdict", "--schistocytes", "1", "--schistocytes", "2", "--platelets",
                       "250", "--json"]) == 2
    refused = capsys.readouterr()
    message = refused.err.removeprefix("smearscan verdict: error: ").removesuffix(
        " (see smearscan verdict --help)\n")
    assert json.loads(refused.out) == {"urgent": None, "unresolved": message}


@pytest.mark.parametrize("per_slide", [False, True])
def test_rows_apart_keep_their_own_lines_over_each_reading_of_an_option(per_slide, tmp_path,
                                                                         capsys):
    # QA 149 H-1: an option given twice, where a second row calls for a line under one reading
    # only, merged every row into one "TTP possible".
    labs = tmp_path / "labs.csv"
    names = ("s1", "s2") if per_slide else ("", "")
    labs.write_text(f"slide,hemoglobin,adamts13,ldh,ldh_uln,platelets\n{names[0]},8 g/dL,5 %,"
                    f"900 U/L,250 U/L,10\n{names[1]},14 g/dL,,,,\n")
    where = ([f"{labs} line {n} (slide 's{n - 1}')" for n in (2, 3)] if per_slide else
             [f"{labs} line {n} (lab values with no slide name)" for n in (2, 3)])
    first = ["--hemoglobin", "8 g/dL", "--adamts13", "5 %", "--ldh", "900 U/L", "--ldh-uln",
             "250 U/L", "--platelets", "10"]
    severe = _line_alone(capsys, first, ["--schistocytes", "5"])
    assert _line_alone(capsys, first, ["--schistocytes", "1"]) == severe
    assert _exit_code(["verdict", "--schistocytes", "1", "--schistocytes", "5", "--labs",
                       str(labs)]) == 2
    # The second row calls for "TTP possible" at 5% and for none at 1%: its line asks for the
    # option corrected; the first's is its own at either.
    assert capsys.readouterr().out == (
        f"{where[0]}: {severe}\n{where[1]}: {urgent_ttp('possible', 'unknown, refused')}\n")


@pytest.mark.parametrize("first_line", ["sep=,", '"sep=,"', "SEP=,,,"])
def test_a_lab_csv_with_excels_separator_line_is_read_as_without_it(first_line, tmp_path,
                                                                      capsys):
    # QA 131 D1: Excel's "sep=," line was read as the header: no slide column, the file
    # refused and the URGENT line of its values lost.
    labs = tmp_path / "labs.csv"
    labs.write_text(SEVERE_CSV.replace("\n", "\r\n"))
    assert main(["verdict", "--schistocytes", "3", "--labs", str(labs), "--slide", "s1"]) == 0
    expected = capsys.readouterr().out
    assert expected.startswith(urgent_ttp("likely", "severe"))
    labs.write_text(f"{first_line}\r\n" + SEVERE_CSV.replace("\n", "\r\n"))
    assert main(["verdict", "--schistocytes", "3", "--labs", str(labs), "--slide", "s1"]) == 0
    assert capsys.readouterr().out == expected
    # A refused row is named by its line in the file, the separator line counted.
    labs.write_text(f"{first_line}\n{SEVERE_CSV}s2,abc,8 g/dL,5 %\n")
    assert main(["verdict", "--schistocytes", "3", "--labs", str(labs), "--slide", "s2"]) == 2
    assert capsys.readouterr().err == (
        f"smearscan verdict: {labs} line 4 (slide 's2'): platelets = 'abc': not a number "
        "(expected '<number> x10^9/L', a bound such as '<0.1 x10^9/L' or '<=0.1 x10^9/L'; a "
        "result not back yet: 'pending', or leave it empty)\n")


def test_a_lab_file_cut_short_inside_a_value_keeps_the_line_of_the_values_before_it(
        tmp_path, capsys):
    # A file cut short (copied while it was written) was read as no values at all: the values
    # before the cut lost their line ("TTP possible" for "likely"). The cut creatinine ('1' of
    # '1.1 mg/dL', or of '150 umol/L') is read as not given.
    assert main(["verdict", "--schistocytes", "3", *SEVERE_OPTIONS]) == 0
    expected = capsys.readouterr().out.split("\n")[0]
    assert expected == urgent_ttp("likely", "severe")
    labs = tmp_path / "labs.json"
    labs.write_text(json.dumps({**SEVERE, "creatinine": "1.1 mg/dL"})[:-10])
    assert labs.read_text().endswith('"creatinine": "1')
    assert main(["verdict", "--schistocytes", "3", "--labs", str(labs)]) == 2
    refused = capsys.readouterr()
    assert refused.out.split("\n")[0] == expected
    assert refused.err.startswith(f"smearscan verdict: {labs}: not valid JSON: ")


def test_a_value_refused_in_a_lab_file_is_not_made_right_by_the_command_line(tmp_path, capsys):
    # QA 41 L-2: the refusal did not say why the command line's value did not help.
    labs = tmp_path / "labs.json"
    labs.write_text(json.dumps(SEVERE | {"hemoglobin": "8"}))
    assert main(["verdict", "--schistocytes", "0.5", "--labs", str(labs), "--hemoglobin",
                 "8 g/dL"]) == 2
    captured = capsys.readouterr()
    assert captured.out.startswith("URGENT - TTP likely")
    assert captured.err.endswith(" (--hemoglobin replaces it here, but a lab file is read whole: "
                                 "correct the file)\n")


@pytest.mark.parametrize(("row", "named"), [
    ("s1,0,900 U/L,250 U/L,<0.1 g/L,negative,", "platelets = 0: a count of exactly 0"),
    ("s1,12,900 U/L,250 U/L,<0.1 g/L,negative,13.5", "inr = 13.5 without a PT prolongation")])
def test_a_lab_files_count_of_0_or_inr_alone_is_refused_as_its_row(tmp_path, capsys, row,
                                                                   named):
    # QA 126 M-3 (QA 120 L-1): refused by the verdict alone, they named the file without its
    # line, and a command-line value lifted the refusal a folder run keeps.
    labs = tmp_path / "labs.csv"
    labs.write_text(f"slide,platelets,ldh,ldh_uln,haptoglobin,dat,inr\n{row}\n")
    key = named.split(" = ")[0]
    for extra in ([], [f"--{key}", "12" if key == "platelets" else "1.1"]):
        assert main(["verdict", "--schistocytes", "3", "--rbc-counted", "1000", "--labs",
                     str(labs), "--slide", "s1", *extra]) == 2
        captured = capsys.readouterr()
        assert captured.out.startswith("URGENT - TTP ")
        assert captured.err.startswith(f"smearscan verdict: {labs} line 2 (slide 's1'): {named}")
        assert captured.err.endswith(
            f" (--{key} replaces it here, but a lab file is read whole: correct the file)\n"
            if extra else " (this tool's rule)\n")


def test_a_pair_refused_in_a_lab_file_says_the_command_line_does_not_mend_it(tmp_path, capsys):
    # QA 121 M-5: the file's D-dimer with a unit beside its bare ULN; the ULN given again on
    # the command line, as the message asked, was refused with the same message alone.
    labs = tmp_path / "labs.json"
    labs.write_text(json.dumps({"platelets": "25", "d_dimer": "8 mg/L FEU", "d_dimer_uln": "0.5",
                                "sepsis": "yes"}))
    assert main(["verdict", "--schistocytes", "4", "--rbc-counted", "1000", "--labs", str(labs),
                 "--d-dimer-uln", "0.5 mg/L FEU"]) == 2
    assert capsys.readouterr().err == (
        f"smearscan verdict: {labs}: d_dimer = '8 mg/L FEU': give d_dimer and d_dimer_uln "
        "('0.5') both with units or both bare (--d-dimer-uln replaces it here, but a lab file is "
        "read whole: correct the file)\n")


def test_a_refused_value_whose_readings_differ_asks_for_it_corrected(capsys):
    # Platelets written bare as 1500: 1.5 or 1500 x10^9/L, and only the platelets can show the
    # picture beside a severe ADAMTS13 deficiency.
    args = ["verdict", "--schistocytes", "3", "--rbc-counted", "1000", "--dat", "negative",
            "--haptoglobin", "1.2 g/L", "--reticulocytes", "1 %", "--ldh", "200 U/L",
            "--ldh-uln", "250", "--adamts13", "5"]
    assert main([*args, "--platelets", "1500"]) == 2
    out = capsys.readouterr().out
    assert out == urgent_ttp("possible", "severe, refused") + "\n"
    assert "a value refused as written decides whether thrombocytopenia or haemolysis" in out
    assert main([*args, "--platelets", "1.5", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["urgent"].startswith("URGENT - TTP likely")


def test_the_same_value_written_in_another_unit_is_said(tmp_path, capsys):
    # QA 40 L-5: an LDH of 90 U/L replaced by 1.5 ukat/L (the same 90 U/L) changed the line,
    # read x60 no more, without a NOTE.
    labs = tmp_path / "n1.json"
    labs.write_text(json.dumps({"ldh": "90 U/L", "ldh_uln": "250 U/L", "platelets": "150",
                                "dat": "negative", "adamts13": "5 %"}))
    count = ["verdict", "--schistocytes", "3", "--rbc-counted", "1000", "--labs", str(labs)]
    assert main([*count, "--ldh", "1.5 ukat/L"]) == 2
    notes = [line for line in capsys.readouterr().out.splitlines() if line.startswith("NOTE")]
    assert notes == [f"NOTE: --ldh 1.5 ukat/L replaces the ldh of {labs} (90 U/L, written in "
                     "U/L)"]
    assert main([*count, "--ldh", "90 U/L"]) == 2
    assert "NOTE" not in capsys.readouterr().out


def test_a_value_the_command_line_replaces_is_said_and_a_refusal_names_each_source(
        tmp_path, capsys):
    # QA 39 M-2: a lab file's LDH, not serum against its own limit, was read against the
    # command line's without a word; L-3: its refusal said the limit came from the file.
    labs = tmp_path / "labs.json"
    labs.write_text(json.dumps({"ldh": "90 U/L", "ldh_uln": "250 U/L", "platelets": 20,
                                "hemoglobin": "8 g/dL"}))
    count = ["verdict", "--schistocytes", "3", "--rbc-counted", "1000", "--labs", str(labs)]
    assert main([*count, "--ldh-uln", "200 U/L", "--platelets", "20"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1] == f"NOTE: --ldh-uln 200 U/L replaces the ldh_uln of {labs} (250 U/L)"
    assert sum(line.startswith("NOTE:") for line in out) == 1  # the same platelets: no note
    assert main([*count, "--ldh-uln", "240 U/L"]) == 2
    refused = capsys.readouterr()
    # QA 40 L-1: a refusal says what it rests on too, after its URGENT line.
    assert refused.out.splitlines()[1:] == [
        f"NOTE: --ldh-uln 240 U/L replaces the ldh_uln of {labs} (250 U/L)"]
    assert refused.out.startswith("URGENT - TTP possible")
    assert refused.err == (
        f"smearscan verdict: ldh from {labs}, ldh_uln from command line: ldh = 90 U/L is under "
        "0.4x ldh_uln = 240 U/L, not a serum result (this tool's rule): was it in ukat/L (x60 "
        "U/L)?\n")


def test_an_ldh_without_its_limit_is_refused_with_the_urgent_line_and_completed_across_sources(
        tmp_path, capsys):
    # QA 29 H1: refused without the URGENT line every limit gives; F1: a lab file's LDH could
    # not be completed by --ldh-uln on the command line.
    labs = tmp_path / "labs.json"
    labs.write_text(json.dumps({"ldh": "900 U/L", "platelets": 10, "haptoglobin": "0 g/L",
                                "reticulocytes": "8 %", "dat": "negative"}))
    count = ["verdict", "--schistocytes", "8.5", "--rbc-counted", "1200", "--labs", str(labs)]
    assert main(count) == 2
    out, err = capsys.readouterr()
    assert out.startswith("URGENT - TTP possible: a medical emergency.")
    why = ("ldh = 900 U/L given without ldh_uln (--ldh-uln): give the upper limit of normal "
           "printed beside it on the lab report; LDH limits differ between methods and ages, so "
           "an LDH is judged only against its own lab's limit")
    assert err == f"smearscan verdict: {labs}: {why}\n"  # where the LDH came from (QA 30 N5)
    assert main(["verdict", "--schistocytes", "8.5", "--rbc-counted", "1200", "--ldh",
                 "900 U/L"]) == 2
    assert capsys.readouterr().err == f"smearscan verdict: command line: {why}\n"
    assert main([*count, "--ldh-uln", "250 U/L", "--json"]) == 0
    verdict = json.loads(capsys.readouterr().out)
    assert verdict["urgent"].startswith("URGENT - TTP possible: a medical emergency.")
    assert "LDH above the lab's upper limit" in [f["finding"] for f in verdict["findings"]["for"]]


def _first_line(argv: list[str], capsys) -> tuple[str | None, str]:
    """The URGENT line (None: none) a verdict run prints first, and its stderr."""
    with contextlib.suppress(SystemExit):
        main(argv)
    captured = capsys.readouterr()
    first = captured.out.split("\n")[0]
    return (first if first.startswith("URGENT") else None), captured.err


#: "TTP likely" whatever the smear or the other options say: ADAMTS13 5% decides it.
LIKELY = ["--platelets", "10", "--hemoglobin", "8 g/dL", "--adamts13", "5 %"]


@pytest.mark.parametrize(("refused", "corrections", "why"), [
    (["--population", "adults"], [["--population", "adult"]],
     "argument --population: invalid choice: 'adults' (choose from 'adult', 'child', "
     "'neonate', 'preterm')"),
    (["--leukoerythroblastic", "yes"],
     [["--leukoerythroblastic", "present"], ["--leukoerythroblastic", "possible"],
      ["--leukoerythroblastic", "absent"], []],
     "argument --leukoerythroblastic: invalid choice: 'yes' (choose from 'present', "
     "'possible', 'absent')"),
    (["--rbc-counted", "1,000"], [["--rbc-counted", "1000"], []],
     "argument --rbc-counted: '1,000' is not a whole number"),
    (["--rbc-counted", "1000.0"], [["--rbc-counted", "1000"], []],
     "argument --rbc-counted: '1000.0' is not a whole number"),
    (["--rbc-counted"], [[]], "argument --rbc-counted: expected one argument"),
    (["--transplant"], [["--transplant", "yes"], ["--transplant", "no"], []],
     "argument --transplant: expected one argument"),
    (["--sepsis", "--inr", "1.1"], [["--inr", "1.1"]], "argument --sepsis: expected one argument"),
    (["--labs"], [[]], "argument --labs: expected one argument"),
    (["--nrbc=yes"], [["--nrbc"], []], "argument --nrbc: ignored explicit argument 'yes'"),
    (["--nrbc", "-5"], [["--nrbc"], []], "argument --nrbc: ignored explicit argument '-5'"),
    (["--slide", "s1"], [[]], "argument --slide: names a slide of --summary or of a per-slide "
                              "--labs, and neither is given"),
    (["--schistocytes", "3,5"], [["--schistocytes", "3.5"]],
     "argument --schistocytes: '3,5' is not a number"),
    (["--schistocytes", "150"], [["--schistocytes", "15"], ["--schistocytes", "1.5"]],
     "argument --schistocytes: '150' is not a percentage (0-100)"),
    (["--schistocytes", "-3"], [["--schistocytes", "3"]],
     "argument --schistocytes: '-3' is not a percentage (0-100)"),
    ([], [["--schistocytes", percent] for percent in ("0", "1", "5", "100")],
     "one of the arguments --schistocytes --summary is required"),
    (["--schistocytes", "3", "--summary", "missing.json"], [["--schistocytes", "3"]],
     "argument --summary: not allowed with argument --schistocytes"),
])
def test_an_option_refused_while_parsing_keeps_the_line_of_its_corrections(
        refused, corrections, why, capsys):
    # QA 44 H-1: argparse refused these before any value was read, printing no URGENT line
    # beside a picture that calls for "TTP likely" however they are corrected.
    count = ["--schistocytes", "3"] if refused[:1] == ["--rbc-counted"] or (
        refused and "--schistocytes" not in refused) else []
    lines = {_first_line(["verdict", *LIKELY, *count, *each], capsys)[0] for each in corrections}
    assert len(lines) == 1 and lines != {None}
    line, err = _first_line(["verdict", *LIKELY, *count, *refused], capsys)
    assert (line, err) == (lines.pop(), f"smearscan verdict: error: {why} (see smearscan "
                                        "verdict --help)\n")


def test_options_read_where_argparse_refused_them(capsys):
    # '3%' is 3%; '-h' is still the help, while '-hemoglobin' is a misspelt --hemoglobin (it
    # was read as '-h emoglobin' and refused with no line); '--adamts13 -5%' is the value
    # refused, read as 5% too.
    picture = ["verdict", "--platelets", "10", "--hemoglobin", "8 g/dL", "--adamts13"]
    assert _first_line([*picture, "5 %", "--schistocytes", "3%"], capsys) == (
        _first_line([*picture, "5 %", "--schistocytes", "3"], capsys)[0], "")
    with pytest.raises(SystemExit) as exit_info:
        main(["verdict", "-h"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.startswith("usage: smearscan verdict [--help]")
    likely = _first_line([*picture, "5 %", "--schistocytes", "3"], capsys)[0]
    assert likely.startswith("URGENT - TTP likely")
    assert _first_line(["verdict", "--schistocytes", "3", "-hemoglobin", "8 g/dL",
                        "--platelets", "10", "--adamts13", "5 %"], capsys) == (
        likely, "smearscan verdict: command line: unknown option '-hemoglobin'; did you mean "
                "'--hemoglobin'?\n")
    assert _first_line([*picture, "-5%", "--schistocytes", "3"], capsys) == (
        likely, "smearscan verdict: command line: adamts13 = '-5%': negative\n")


def _summary_of(folder, slides: dict[str, dict]):
    """A summary.json in ``folder`` of slides of 3% schistocytes (2000 red cells counted),
    each entry completed by its dict (e.g. recorded ``labs``)."""
    labels = np.array(["schistocyte"] * 60 + ["rbc"] * 1940)
    result = slide_result(label=labels, morphology=np.full(labels.size, ""),
                          border=np.zeros(labels.size, bool),
                          operating={"schistocyte": {"sensitivity": 0.6,
                                                     "false_positive_rate": 0.002}})
    path = folder / "summary.json"
    path.write_text(json.dumps({"slides": {name: result.to_dict() | extra
                                           for name, extra in slides.items()}}))
    return path


def test_a_summary_slide_not_named_keeps_the_line_of_each_slide_it_may_be(tmp_path, capsys):
    # QA 44 H-3: two slides and no --slide, or 's1' for 'S1', were refused with no line.
    path = _summary_of(tmp_path, {"S1": {}, "S2": {}})
    given = ["--summary", str(path), *LIKELY]
    likely = _first_line(["verdict", *given, "--slide", "S1"], capsys)
    assert likely[0].startswith("URGENT - TTP likely")
    # Each slide's own line, said of it (QA 146 H-3's rule).
    assert _exit_code(["verdict", *given]) == 2
    assert capsys.readouterr() == (
        f"{path} slide 'S1': {likely[0]}\n{path} slide 'S2': {likely[0]}\n",
        f"smearscan verdict: {path} holds 2 slides (S1, S2): name one with --slide NAME\n")
    assert _first_line(["verdict", *given, "--slide", "s1"], capsys) == (
        likely[0], "smearscan verdict: slide 's1' is not in the summary; slides: 'S1', 'S2'; did "
                   "you mean 'S1'?\n")
    # Another patient's name, no slip of any: no slide is read, and the lab values given keep
    # their own line, the smear read as not known (QA 81 #2).
    assert _first_line(["verdict", *given, "--slide", "P7"], capsys) == (
        likely[0], "smearscan verdict: slide 'P7' is not in the summary; slides: 'S1', 'S2'\n")


def test_each_slide_of_a_summary_says_its_line_however_many_it_holds(tmp_path, capsys):
    # QA 151 H-1: a 65th slide's "TTP likely" was lost beyond the 64 slides judged together.
    normal = {"platelets": 250, "hemoglobin": 14, "adamts13": 80}
    slides = {f"N{index:02d}": {"labs": normal} for index in range(64)}
    path = _summary_of(tmp_path, slides | {"Z70": {"labs": {"platelets": 10, "hemoglobin": 8,
                                                              "adamts13": 5}}})
    likely, _ = _first_line(["verdict", "--summary", str(path), "--slide", "Z70"], capsys)
    assert likely.startswith("URGENT - TTP likely")
    assert main(["verdict", "--summary", str(path)]) == 2
    assert capsys.readouterr().out == f"{path} slide 'Z70': {likely}\n"
    assert main(["verdict", "--summary", str(path), "--json"]) == 2
    said = json.loads(capsys.readouterr().out)
    # QA 153 M-1: "urgent" is the strongest line, not "TTP possible ... name the slide".
    assert (said["urgent"], said["urgent_each"]) == (likely, [f"{path} slide 'Z70': {likely}"])


def test_a_row_of_one_of_two_lab_files_given_keeps_its_own_line(tmp_path, capsys):
    # QA 151 H-2: a row missing from the other file's reading was read as calling for no line
    # there, and said "TTP possible" where it says "TTP likely" under every reading it is in.
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    first.write_text(f"{SEVERE_CSV}s2,{_NORMAL_CSV}\n")
    second.write_text(f"{_HEADER}t1,{_NORMAL_CSV}\nt2,{_NORMAL_CSV}\n")
    likely = _line_alone(capsys, SEVERE_OPTIONS, ["--schistocytes", "3"])
    assert _exit_code(["verdict", "--schistocytes", "3", "--labs", str(first), "--labs",
                       str(second)]) == 2
    assert capsys.readouterr().out == f"{first} line 2 (slide 's1'): {likely}\n"


def test_a_summarys_recorded_labs_stand_where_the_lab_file_cannot_be_read(tmp_path, capsys):
    # QA 44 H-3: an unreadable --labs beside a summary that recorded the slide's values was read
    # as no values ("TTP possible"), where the recorded ones call for "TTP likely"; and the
    # notice that recorded values are used came before the refusal, a second line.
    recorded = {"platelets": 10, "hemoglobin": 8, "adamts13": 5}
    path = _summary_of(tmp_path, {"S1": {"labs": recorded}})
    likely, notice = _first_line(["verdict", "--summary", str(path)], capsys)
    assert likely.startswith("URGENT - TTP likely")
    assert notice == (f"smearscan verdict: lab values recorded for slide 'S1' in {path} (--labs "
                      "or options give others)\n")
    labs = tmp_path / "labs.json"
    labs.write_text('{"platelets": ')
    assert _first_line(["verdict", "--summary", str(path), "--labs", str(labs)], capsys) == (
        likely, f"smearscan verdict: {labs}: not valid JSON: Expecting value: line 1 column 15 "
                "(char 14)\n")
    assert _first_line(["verdict", "--summary", str(path), "--platelets", "10/uL"], capsys) == (
        likely, "smearscan verdict: command line: platelets = '10/uL': 10 per uL is 0.01 x10^9/L: "
                "was it in x10^3/uL (10 x10^9/L)?\n")


def test_a_file_option_given_twice_is_read_as_the_copies_that_name_a_file(tmp_path, capsys):
    # QA 44: '--labs missing.json --labs good.json' read the missing copy as no lab values, and
    # the line was "TTP possible" where good.json's is "TTP likely".
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"platelets": 10, "hemoglobin": "8 g/dL", "adamts13": "5 %"}))
    count = ["verdict", "--schistocytes", "3"]
    likely = _first_line([*count, "--labs", str(good)], capsys)[0]
    assert likely.startswith("URGENT - TTP likely")
    missing = tmp_path / "missing.json"
    assert _first_line([*count, "--labs", str(missing), "--labs", str(good)], capsys) == (
        likely, f"smearscan verdict: error: --labs given twice ('{missing}' and '{good}'): keep "
                "the one the verdict should use (see smearscan verdict --help)\n")


@pytest.mark.parametrize(("misspelt", "meant", "why"), [
    # QA 44 L-2: an option that is not a lab value, misspelt, was offered none ('--jsno'); now
    # it is named and read as that option, given and not given.
    (["--jsno"], [[]], "unknown option '--jsno'; did you mean '--json'?"),  # printed as text
    (["--rbc-count", "1000"], [["--rbc-counted", "1000"], []],
     "unknown option '--rbc-count'; did you mean '--rbc-counted'?"),
    (["--populaton", "adults"], [["--population", "adult"]],
     "unknown option '--populaton'; did you mean '--population'?; argument --population: invalid "
     "choice: 'adults' (choose from 'adult', 'child', 'neonate', 'preterm')"),
    (["--schistocyte", "3"], [["--schistocytes", "3"]],
     "unknown option '--schistocyte'; did you mean '--schistocytes'?; --schistocytes given twice "
     "('3' and '3'): keep the one the verdict should use"),
])
def test_a_misspelt_option_that_is_no_lab_value_is_read_as_the_option(misspelt, meant, why,
                                                                       capsys):
    count = ["--schistocytes", "3"]
    lines = {_first_line(["verdict", *LIKELY, *count, *each], capsys)[0] for each in meant}
    assert len(lines) == 1 and lines != {None}
    assert _first_line(["verdict", *LIKELY, *count, *misspelt], capsys) == (
        lines.pop(), f"smearscan verdict: error: {why} (see smearscan verdict --help)\n")


def test_an_option_refused_beside_a_lab_value_names_both_and_reads_them_together(capsys):
    # QA 44 L-2: a count no whole number of cells gives beside a bare haemoglobin named only
    # the haemoglobin, and read it with the percentage alone.
    picture = ["verdict", "--platelets", "10", "--adamts13", "5 %", "--rbc-counted", "1000"]
    likely = {_first_line([*picture, "--schistocytes", percent, "--hemoglobin", hb], capsys)[0]
              for percent in ("1", "0.9") for hb in ("8 g/dL", "8 mmol/L")}
    assert len(likely) == 1 and likely.pop().startswith("URGENT - TTP likely")
    line, err = _first_line([*picture, "--schistocytes", "0.99", "--hemoglobin", "8"], capsys)
    assert line.startswith("URGENT - TTP likely")
    assert err == (
        "smearscan verdict: error: --schistocytes 0.99 of --rbc-counted 1000 is 9.9 cells, not a "
        "whole number (10 of 1000 is 1%): give the percentage of the count (this tool's rule) "
        "(also refused: command line: hemoglobin = '8': a bare number could be 8 g/dL or 8 mmol/L "
        "(= 12.89 g/dL); give the unit, e.g. '8 g/dL' or '8 mmol/L') (see smearscan verdict "
        "--help)\n")


def test_the_corrections_of_refused_options_share_the_lab_values_budget(monkeypatch, capsys):
    # QA 45 M-2: each correction of a refused option read a lab file of bounds every way, 64
    # times over (11 minutes). Five readings of '--population xyz' leave each a fifth.
    import smearscan.labs

    budgets = []
    reading = smearscan.labs.lab_readings

    def counted(*args, **kwargs):
        budgets.append(kwargs.get("ways_read", 1))
        return reading(*args, **kwargs)

    monkeypatch.setattr(smearscan.labs, "lab_readings", counted)
    line, err = _first_line(["verdict", "--schistocytes", "3", "--population", "xyz",
                             "--platelets", "10", "--hemoglobin", "8"], capsys)
    assert line.startswith("URGENT - TTP")
    assert set(budgets) == {5}


def test_two_pasted_draws_keep_the_line_each_draw_calls_for(capsys):
    # QA 46 H-1: eight keys given twice, each draw "TTP suspected": the keys beyond the most
    # read every way were read as not given, "TTP possible".
    common = ["verdict", "--schistocytes", "3", "--ldh-uln", "250U/L", "--haptoglobin",
              "<0.1g/L", "--active-cancer", "no", "--transplant", "no"]
    draws = [["--platelets", "12", "--hemoglobin", "7.5g/dL", "--ldh", "900U/L", "--creatinine",
              "1.1mg/dL", "--inr", "1.1", "--wbc", "6", "--reticulocytes", "3%", "--mcv", "85"],
             ["--platelets", "14", "--hemoglobin", "7.6g/dL", "--ldh", "950U/L", "--creatinine",
              "1.2mg/dL", "--inr", "1.0", "--wbc", "7", "--reticulocytes", "4%", "--mcv", "86"]]
    lines = {_first_line([*common, *draw], capsys)[0] for draw in draws}
    assert len(lines) == 1 and lines != {None}
    line, err = _first_line([*common, *draws[0], *draws[1]], capsys)
    assert line == lines.pop() and line.startswith("URGENT - TTP suspected")
    assert err.startswith("smearscan verdict: command line: hemoglobin given twice")


def test_a_bound_refused_beside_a_refused_option_is_named(capsys):
    # QA 46 L-3: only the option was named; the INR given as a bound was refused next.
    line, err = _first_line(["verdict", "--schistocytes", "3", "--population", "adults",
                             "--platelets", "10", "--inr", "<1.6"], capsys)
    assert line == _first_line(["verdict", "--schistocytes", "3", "--platelets", "10", "--inr",
                                "<1.6"], capsys)[0]
    assert err == (
        "smearscan verdict: error: argument --population: invalid choice: 'adults' (choose from "
        "'adult', 'child', 'neonate', 'preterm') (also refused: command line: inr = '<1.6': the "
        "verdict differs within that range (at 0.5 and just under 1.6); give the measured value) "
        "(see "
        "smearscan verdict --help)\n")


#: A TTP picture but for the platelets and ADAMTS13.
HAEMOLYSIS = ["--ldh", "900 U/L", "--ldh-uln", "250 U/L", "--haptoglobin", "<0.1 g/L"]


@pytest.mark.parametrize(("first", "second", "options", "advice"), [
    # QA 47 H-1: the second file, refused as lab values itself (0.6% or 60%) or pending (not
    # measured), was left out of what the line says of ADAMTS13: "ADAMTS13 under 10% is a
    # severe deficiency".
    ({"adamts13": "5 %"}, {"adamts13": "0.6"}, ["--platelets", "12", *HAEMOLYSIS],
     "in question, refused"),
    ({"adamts13": "5 %"}, {"adamts13": "pending"}, ["--platelets", "12", *HAEMOLYSIS],
     "in question, refused"),
    # QA 47 M-1: both files refused beside a bare haemoglobin were read as ADAMTS13 not
    # measured; 5% in both (one with the picture, one without) is a severe deficiency.
    ({"adamts13": "5 %"}, {"adamts13": "50 %"}, ["--platelets", "12", "--hemoglobin", "8"],
     "in question, refused"),
    ({"adamts13": "5 %", "platelets": 12, "ldh": "900 U/L", "ldh_uln": "250 U/L",
      "haptoglobin": "<0.1 g/L"}, {"adamts13": "5 %", "platelets": 300}, ["--hemoglobin", "8"],
     "severe, refused"),
])
def test_a_line_over_refused_corrections_says_what_all_of_them_show_of_adamts13(
        first, second, options, advice, tmp_path, capsys):
    files = []
    for index, values in enumerate((first, second)):
        files.append(tmp_path / f"labs{index}.json")
        files[-1].write_text(json.dumps(values))
    with pytest.raises(SystemExit) as exit_info:
        main(["verdict", "--schistocytes", "3", *options, "--labs", str(files[0]), "--labs",
              str(files[1])])
    assert exit_info.value.code == 2
    assert capsys.readouterr().out.split("\n")[0] == urgent_ttp("possible", advice)


def test_a_per_slide_file_cut_before_the_slides_row_says_it_is_cut(tmp_path, capsys):
    # QA 47 M-3: "no lab values for slide 's2' (has: s1)" alone did not say the file was cut.
    labs = tmp_path / "labs.json"
    labs.write_text('{"s1": {"platelets": 12}, "s2')
    assert main(["verdict", "--schistocytes", "3", "--labs", str(labs), "--slide", "s2"]) == 2
    assert capsys.readouterr().err == (
        f"smearscan verdict: {labs}: not valid JSON: Unterminated string starting at: line 1 "
        "column 27 (char 26); no lab values for slide 's2' (has: s1)\n")


def test_a_json_key_given_twice_as_lists_keeps_the_line(tmp_path, capsys):
    # QA 48 N-H3: copies that are lists were hashed: a traceback, and no line.
    labs = tmp_path / "labs.json"
    labs.write_text('{"platelets": 12, "hemoglobin": "8 g/dL", "adamts13": "5 %", '
                    '"drug_exposure": ["ticlopidine"], "drug_exposure": ["clopidogrel"]}')
    assert main(["verdict", "--schistocytes", "3", "--labs", str(labs)]) == 2
    captured = capsys.readouterr()
    assert captured.out.split("\n")[0] == urgent_ttp("likely", "severe")
    assert captured.err == (f"smearscan verdict: {labs}: drug_exposure given twice "
                            "(['ticlopidine'] and ['clopidogrel']): keep the one the verdict "
                            "should use\n")


@pytest.mark.parametrize(("content", "slide", "why"), [
    (None, None, "not a readable summary.json ([Errno 2] No such file or directory: "),
    ("garbage", None, "not a readable summary.json (Expecting value: line 1 column 1 (char 0))"),
    ("{}", None, 'not a smearscan summary.json (no "slides" object)'),
    ('{"slides": {}}', None, "holds no slide: its run analysed none, or it is another run's file"),
    ('{"slides": {"A": {}}}', None, "not a smearscan slide result: no 'schistocytes'"),
    ('{"slides": {"A": {}}}', "B", "slide 'B' is not in the summary; slides: 'A'"),
])
@pytest.mark.parametrize("as_json", [False, True])
def test_a_summary_that_cannot_be_read_keeps_the_urgent_line_of_the_lab_values(
        tmp_path, capsys, content, slide, why, as_json):
    # QA 81 #2: a textbook TTP lost its URGENT line to an unreadable summary or a slide not in
    # it ("urgent": null in JSON, or no JSON at all); the smear is read as not known, as a
    # missing --schistocytes is.
    path = tmp_path / "summary.json"
    if content is not None:
        path.write_text(content)
    argv = ["verdict", "--summary", str(path), *(["--slide", slide] if slide else []),
            *(["--json"] if as_json else []), *CLASSIC_TTP]
    assert main(argv) == 2
    captured = capsys.readouterr()
    line = urgent_ttp("suspected", "unknown")
    assert captured.out == (json.dumps({"urgent": line, "unresolved": captured.err.strip()[
        len("smearscan verdict: "):]}, indent=2) if as_json else line) + "\n"
    assert captured.err.startswith("smearscan verdict: ") and why in captured.err
    assert captured.err.count("\n") == 1
    # The labs without a count (refused too) keep the same line.
    assert _exit_code(["verdict", *CLASSIC_TTP]) == 2
    assert capsys.readouterr().out == line + "\n"


@pytest.mark.parametrize(("adamts13", "advice"), [(None, "unknown, slide"),
                                                  (("5 %", "3 %"), "severe, slide")])
def test_a_per_slide_lab_file_without_slide_asks_for_the_slide(tmp_path, capsys, adamts13,
                                                                advice):
    # QA 81 #6: the line said "a value refused as written decides the verdict: correct it"
    # where nothing was refused but the slide not named; its rows may be other patients.
    rows = [["S1", "12", "1500", "250"], ["S2", "250", "150 U/L", "250"]]
    header = "slide,platelets,ldh,ldh_uln"
    if adamts13 is not None:
        header += ",adamts13"
        rows = [[*row, value] for row, value in zip(rows, adamts13, strict=True)]
    labs = tmp_path / "labs.csv"
    labs.write_text("\n".join([header, *(",".join(row) for row in rows)]) + "\n")
    assert main(["verdict", "--schistocytes", "5", "--labs", str(labs), "--json"]) == 2
    captured = capsys.readouterr()
    # QA 146 H-3: each row's own line is said, the line over them in JSON beside them.
    lines = {slide: line for slide in ("S1", "S2")
             if (line := _line_alone(capsys, ["--labs", str(labs), "--slide", slide],
                                     ["--schistocytes", "5"])).startswith("URGENT")}
    each = [f"{labs} line {number} (slide {slide!r}): {lines[slide]}"
            for number, slide in [(2, "S1"), (3, "S2")] if slide in lines]
    assert len(each) == (1 if adamts13 is None else 2)
    # QA 153 M-1: "urgent" is the strongest line where a row's is stronger than the one over
    # them all: S1's "TTP likely" where its ADAMTS13 of 5% is measured.
    assert lines["S1"].startswith("URGENT - TTP possible" if adamts13 is None
                                  else "URGENT - TTP likely")
    assert json.loads(captured.out) == {
        "urgent": urgent_ttp("possible", advice) if adamts13 is None else lines["S1"],
        "urgent_each": each, "unresolved": captured.err.strip()[19:]}
    assert captured.err == (f"smearscan verdict: {labs}: the lab file is per slide; name the "
                            "slide with --slide\n")
    assert ("name the slide with --slide (this tool's rule)" in captured.out) == (adamts13 is None)
    assert main(["verdict", "--schistocytes", "5", "--labs", str(labs)]) == 2
    assert capsys.readouterr().out == "\n".join(each) + "\n"


def test_a_negative_bound_is_read_as_the_bound_without_its_dash(capsys):
    # QA 82 #3: '>=-1 %' of ADAMTS13 was read as 1%, a severe deficiency: "TTP likely, start
    # plasma exchange now", where '>=1 %' spans every band and says TTP possible.
    given = ["--schistocytes", "3", "--rbc-counted", "1000", "--platelets", "10", "--ldh",
             "900 U/L", "--ldh-uln", "225 U/L", "--haptoglobin", "0.05 g/L"]
    assert main(["verdict", *given, "--adamts13", ">=1 %"]) == 2
    line = capsys.readouterr().out
    assert line.startswith("URGENT - TTP possible: ")
    assert main(["verdict", *given, "--adamts13", ">=-1 %"]) == 2
    captured = capsys.readouterr()
    assert captured.out == line
    assert captured.err == "smearscan verdict: command line: adamts13 = '>=-1 %': negative\n"


def test_a_haptoglobin_bound_that_includes_the_detection_limit_is_not_undetectable(capsys):
    # QA 82 #2: '<=0.1 g/L' scored PLASMIC's undetectable haptoglobin (PLASMIC 6, TTP
    # suspected) where a measured 0.1 g/L scores 5; '<0.1 g/L' is under the assay's range.
    given = ["--schistocytes", "3", "--rbc-counted", "1000", "--platelets", "12",
             "--reticulocytes", "1 %", "--indirect-bilirubin", "0.5 mg/dL", "--ldh", "900 U/L",
             "--ldh-uln", "225 U/L", "--active-cancer", "no", "--transplant", "no", "--mcv",
             "95", "--inr", "1.1", "--creatinine", "1.0 mg/dL", "--dat", "negative", "--json"]
    plasmic = {}
    for haptoglobin in ("<0.1 g/L", "0.1 g/L"):
        assert main(["verdict", *given, "--haptoglobin", haptoglobin]) == 0
        plasmic[haptoglobin] = json.loads(capsys.readouterr().out)["scores"]["plasmic"]["total"]
    assert plasmic == {"<0.1 g/L": 6, "0.1 g/L": 5}
    assert main(["verdict", *given, "--haptoglobin", "<=0.1 g/L"]) == 2
    assert capsys.readouterr().err == (
        "smearscan verdict: command line: haptoglobin = '<=0.1 g/L': the verdict differs within "
        "that range (at 0 g/L and at 0.1 g/L); give the measured value\n")


def test_a_summarys_slides_that_call_for_different_lines_ask_for_the_slide(tmp_path, capsys):
    # QA 82 #9: two slides, one over the limit and one under, without --slide: the line said
    # "a value refused as written decides the verdict: correct it".
    labels = np.array(["schistocyte"] * 2 + ["rbc"] * 1998)
    under = slide_result(label=labels, morphology=np.full(labels.size, ""),
                         border=np.zeros(labels.size, bool)).to_dict()
    path = _summary_of(tmp_path, {"S1": {}})
    data = json.loads(path.read_text())
    data["slides"]["S2"] = under
    path.write_text(json.dumps(data))
    labs = ["--platelets", "45", "--hemoglobin", "8 g/dL", "--ldh", "900 U/L", "--ldh-uln",
            "225 U/L"]
    lines = {slide: _first_line(["verdict", "--summary", str(path), "--slide", slide, *labs],
                                capsys)[0] for slide in ("S1", "S2")}
    assert lines["S1"] is not None and lines["S2"] is None
    # QA 146 H-3's rule: each slide's own line is said, "TTP possible ... name the slide" only
    # as the line over them all in JSON.
    refusal = f"{path} holds 2 slides (S1, S2): name one with --slide NAME"
    assert main(["verdict", "--summary", str(path), *labs]) == 2
    assert capsys.readouterr() == (f"{path} slide 'S1': {lines['S1']}\n",
                                   f"smearscan verdict: {refusal}\n")
    assert main(["verdict", "--summary", str(path), *labs, "--json"]) == 2
    assert json.loads(capsys.readouterr().out) == {
        "urgent": urgent_ttp("possible", "unknown, slide"),
        "urgent_each": [f"{path} slide 'S1': {lines['S1']}"], "unresolved": refusal}


@pytest.mark.parametrize(("extra", "why"), [
    ({"review": "signed"}, "slide 'S1': review is not an object"),
    ({"labs": [1, 2]}, "slide 'S1': labs is not an object"),
    ({"population": "Adult"}, "slide 'S1': schistocytes.population is not one of adult, child, "
                              "neonate, preterm ('Adult')"),
])
def test_a_summary_slide_with_a_part_of_the_wrong_kind_is_refused_keeping_the_line(
        tmp_path, capsys, extra, why):
    # QA 82 #6: a review or labs entry that is not an object was a traceback (no URGENT line);
    # #8: a population other than the four read an adult as a child (TTP weakened, exit 0).
    path = _summary_of(tmp_path, {"S1": {}})
    data = json.loads(path.read_text())
    slide = data["slides"]["S1"]
    if "population" in extra:
        slide["schistocytes"]["population"] = extra["population"]
    else:
        slide.update(extra)
    path.write_text(json.dumps(data))
    assert main(["verdict", "--summary", str(path), *CLASSIC_TTP]) == 2
    captured = capsys.readouterr()
    assert captured.out == urgent_ttp("suspected", "unknown") + "\n"
    assert captured.err == f"smearscan verdict: {path}: {why}\n"


#: QA 92's adult: PLASMIC 6, a kidney injury, "TTP suspected" (QA 89's ADULT6).
ADULT6 = ["--schistocytes", "5", "--rbc-counted", "1000", "--ldh", "1500", "--ldh-uln", "250",
          "--haptoglobin", "<0.1g/L", "--reticulocytes", "8%", "--mcv", "85", "--inr", "1.1",
          "--active-cancer", "no", "--dat", "negative", "--hemoglobin", "7g/dL", "--sex",
          "female", "--transplant", "no", "--platelets", "10", "--creatinine", "3.5mg/dL"]
#: An overt DIC beside sepsis at PLASMIC 3 with the French score 2 of 2: TTP possible only
#: with a trigger of an immune TTP recorded (a thienopyridine, an obstetric complication).
DIC_FRENCH2 = ["--schistocytes", "5", "--rbc-counted", "1000", "--ldh", "1500", "--ldh-uln",
               "250", "--haptoglobin", "<0.1g/L", "--reticulocytes", "8%", "--mcv", "95",
               "--inr", "1.6", "--pt-prolongation-s", "7", "--active-cancer", "yes",
               "--transplant", "yes", "--dat", "negative", "--hemoglobin", "7g/dL", "--sex",
               "female", "--platelets", "20", "--creatinine", "1.0mg/dL", "--sepsis", "yes",
               "--d-dimer", "8000", "--d-dimer-uln", "500", "--fibrinogen", "0.8"]
_DOUBT_REFUSED = ("a doubt, not a finding (ruled out, negative, not applicable or not known, "
                  "denied, queried, pending, a risk, prophylaxis or screening): give the name "
                  "only when it is present, else false (none)")


@pytest.mark.parametrize("answer", ["HELLP ruled out", "?HELLP", "HELLP prophylaxis"])
def test_a_doubted_complication_is_refused_keeping_the_line(answer, capsys):
    # QA 92 #1: "HELLP ruled out" read as a HELLP led with "urgent obstetric review (delivery".
    assert main(["verdict", *ADULT6, "--obstetric-complication", answer]) == 2
    captured = capsys.readouterr()
    assert captured.out == urgent_ttp("suspected", "unknown") + "\n"
    assert captured.err == (f"smearscan verdict: command line: obstetric_complication = "
                            f"{answer!r}: {_DOUBT_REFUSED}\n")


def test_a_doubted_trigger_keeps_the_line_its_presence_calls_for(capsys):
    # QA 92 #1: read only as not given, '?clopidogrel' beside an overt DIC lost the line that
    # clopidogrel, a trigger of an immune TTP, calls for.
    assert _first_line(["verdict", *DIC_FRENCH2, "--drug-exposure", "no"], capsys)[0] is None
    present = _first_line(["verdict", *DIC_FRENCH2, "--drug-exposure", "clopidogrel"], capsys)
    assert present[0] == urgent_ttp("possible", "unknown")
    assert _first_line(["verdict", *DIC_FRENCH2, "--drug-exposure", "?clopidogrel"], capsys) == (
        urgent_ttp("possible", "unknown, refused"),
        f"smearscan verdict: command line: drug_exposure = '?clopidogrel': {_DOUBT_REFUSED}\n")


@pytest.mark.parametrize("populations", [["adult", "neonate"], ["neonate", "preterm"]])
def test_a_population_given_twice_keeps_a_newborns_platelet_clause_only_if_both_are(
        populations, capsys):
    # QA 125 M3: a population refused as 'adult' or 'neonate' took the newborn's platelet
    # clause in place of the adult's "do not transfuse platelets".
    argv = ["verdict", *ADULT6, *[word for p in populations for word in ("--population", p)]]
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert stopped.value.code == 2
    line = capsys.readouterr().out.splitlines()[0]
    assert ("do not transfuse platelets" in line) is ("adult" in populations)
    assert ("neonatal team's decision" in line) is ("adult" not in populations)


@pytest.mark.parametrize("population", ["neonate", "preterm"])
@pytest.mark.parametrize(("given", "named"), [
    (["--pregnancy", "yes"], "pregnancy = True"),
    (["--obstetric-complication", "maternal pre-eclampsia"],
     "obstetric_complication = 'maternal pre-eclampsia'"),
    (["--pregnancy", "yes", "--obstetric-complication", "HELLP"],
     "pregnancy = True and obstetric_complication = 'HELLP'")])
def test_a_newborns_recorded_pregnancy_is_refused_keeping_the_line(population, given, named,
                                                                   capsys):
    # QA 92 #2: the mother's pre-eclampsia or HELLP, read as the newborn's, led with "urgent
    # obstetric review (delivery ...)".
    newborn = ["verdict", *ADULT6, "--population", population]
    line = _first_line(newborn, capsys)[0]
    assert line == urgent_ttp("possible", "unknown", adult=False, newborn=True)
    assert _first_line([*newborn, *given], capsys) == (
        line, f"smearscan verdict: command line: {named} with population = {population!r}: "
              "the mother's pregnancy is not the newborn's: leave it out (note it elsewhere) "
              "(this tool's rule)\n")
    assert main([*newborn, "--adamts13", "60%", *given]) == 2
    refused = capsys.readouterr()
    assert refused.out == "" and refused.err.startswith(f"smearscan verdict: command line: {named}")


def test_a_newborn_recorded_as_not_pregnant_is_judged():
    # 'No' is true of a newborn: nothing to refuse.
    argv = ["verdict", *ADULT6, "--population", "neonate", "--adamts13", "60%"]
    assert main([*argv, "--pregnancy", "no", "--obstetric-complication", "no"]) == 0


def test_a_named_complication_beside_no_pregnancy_is_refused_keeping_the_line(capsys):
    # QA 92 #6: read as given, pregnancy was "suspected" and led with delivery beside "no".
    assert main(["verdict", *ADULT6, "--pregnancy", "no", "--obstetric-complication",
                 "HELLP"]) == 2
    captured = capsys.readouterr()
    assert captured.out == urgent_ttp("suspected", "unknown") + "\n"
    assert captured.err == (
        "smearscan verdict: command line: obstetric_complication = 'HELLP' but pregnancy = "
        "False: an obstetric complication is a pregnancy's, and pregnancy covers post partum "
        "(give pregnancy = yes for a woman post partum); correct one of them\n")


def test_a_pregnancy_that_may_be_recorded_keeps_the_fetal_caution(capsys):
    # QA 92 #5: under any reading that records pregnancy the URGENT line's ACE inhibitor is
    # weighed with obstetrics.
    assert main(["verdict", *ADULT6, "--pregnancy", "maybe", "--systemic-sclerosis",
                 "yes"]) == 2
    assert capsys.readouterr().out.endswith(
        "(ACE inhibitors)); pregnancy recorded: before delivery an ACE inhibitor can injure the "
        "fetus (captopril's boxed warning): decide it with obstetrics.\n")


_STOP_GEMCITABINE = (
    "stop gemcitabine now with its prescribing team (who replace it where stopping alone does "
    "harm: a transplant's immunosuppression, a stent's antiplatelet) and do not re-expose "
    "(Al-Nouri ZL, et al. Blood 2015;125:616-618); report it as an adverse drug reaction")


@pytest.mark.parametrize(("recorded", "leading"), [
    (["--obstetric-complication", "HELLP"],
     "Next (pregnancy, suspected): urgent obstetric review (delivery for HELLP or "
     "pre-eclampsia: Sibai BM. Obstet Gynecol 2004;103:981-991)"),
    (["--malignant-hypertension", "yes"],
     "Next (malignant-hypertension, suspected): control blood pressure; re-assess the TMA once "
     "it is controlled (van den Born BJ, et al. Hypertension 2005;45:246-251)")])
def test_a_suspected_drug_tma_is_stopped_beside_the_cause_that_leads(recorded, leading, capsys):
    # QA 92 #3, QA 90 #6: a HELLP's delivery or malignant hypertension's blood pressure took
    # the Next line and "stop gemcitabine", the only step that treats a drug TMA, was left 20
    # lines down.
    argv = ["verdict", *ADULT6, *recorded, "--drug-exposure", "gemcitabine", "--adamts13", "60%"]
    assert main(argv) == 0
    text = capsys.readouterr().out.split("\n")
    assert text[1] == f"{leading}; suspected drug TMA: {_STOP_GEMCITABINE}"
    assert main([*argv, "--json"]) == 0
    step = json.loads(capsys.readouterr().out)["next"]
    assert f"Next ({step['about']}, {step['assessment']}): {step['action']}" == text[1]


def test_a_suspected_drug_tma_is_stopped_before_the_clause_deferring_to_the_urgent_line(capsys):
    # The deferring clause stays the last word on the Next line beside "URGENT - TTP suspected".
    assert main(["verdict", *ADULT6, "--obstetric-complication", "HELLP", "--drug-exposure",
                 "gemcitabine"]) == 0
    assert capsys.readouterr().out.split("\n")[2] == (
        "Next (pregnancy, suspected): urgent obstetric review (delivery for HELLP or "
        "pre-eclampsia: Sibai BM. Obstet Gynecol 2004;103:981-991); suspected drug TMA: "
        f"{_STOP_GEMCITABINE}; TTP not excluded: treat as the URGENT line says until ADAMTS13 "
        "is back")


@pytest.mark.parametrize(("named", "leading"), [
    ("HELLP", "pregnancy"), ("postpartum HELLP syndrome", "pregnancy"),
    ("suspected HELLP", "pregnancy"), ("pre-eclampsia with HELLP", "pregnancy"),
    ("pre-eclampsia/HELLP", "pregnancy"), ("HELLP (confirmed)", "pregnancy"),
    ("Coombs-negative HELLP", "pregnancy"),
    # QA 97: a whitelist of a HELLP's own words sent these to complement studies first.
    ("HELLP (Mississippi class 2)", "pregnancy"), ("HELLP, 32 weeks", "pregnancy"),
    ("HELLP at 34/40", "pregnancy"), ("postpartum HELLP, day 2", "pregnancy"),
    ("HELLP with DIC", "pregnancy"), ("HELLP (LDH 1500)", "pregnancy"),
    ("HELLP-negative pre-eclampsia", "hus"), ("HELLP never diagnosed", "hus"),
    ("HELLP doubtful", "hus"), ("HELLP/TTP", "hus"),
    # QA 105 M1: an answer of no the value reader lets through; QA 106: a gestation's 0 is none.
    ("HELLP - nope", "hus"), ("HELLP at 34+0 weeks", "pregnancy"),
    ("HELLP or TTP", "hus"), ("HELLP improbable", "hus"),
    ("HELLP criteria not fulfilled", "hus"),
    # QA 98 H1: absent, past, someone else's or only worked up.
    ("HELLP prev pregnancy", "hus"),
    ("mother had HELLP", "hus"), ("HELLP workup", "hus"),
    ("ruling out HELLP", "hus"), ("HELLP never confirmed", "hus"),
    # QA 98 H2: another finding's negative in a clause of its own.
    ("HELLP, not TTP", "pregnancy"), ("HELLP (ADAMTS13 normal, not TTP)", "pregnancy"),
    ("H.E.L.L.P. syndrome", "pregnancy"),
    # QA 110: a HELLP among words of its own list only leads; the tick boxes, someone else's,
    # a past pregnancy's, a normal answer or another language's no did (QA 99 H2's present
    # HELLPs in other words now stay possible, with the obstetric review on the Next line).
    ("HELLP, plt 45, AST 320 U/L at 34+2 weeks", "pregnancy"),
    ("partial HELLP (Mississippi class 2), on MgSO4, post EMCS", "pregnancy"),
    ("HELLP (prev preg)", "hus"), ("maternal HELLP", "hus"), ("FHx HELLP", "hus"),
    ("HELLP - no evidence", "hus"), ("HELLP: normal", "hus"), ("HELLP ok", "hus"),
    ("TTP rather than HELLP", "hus"), ("HELLP: nee", "hus"),
    ("HELLP bloods sent", "hus"), ("HELLP N", "hus"), ("HELLP: Na", "hus"),
    ("HELLP with normal BP", "hus"), ("maternal HELLP syndrome at 33 weeks", "hus"),
    ("HELLP without hypertension", "hus"),
    # ... and another finding's or a symptom's denial or normal result beside a HELLP leads.
    ("HELLP, no proteinuria", "pregnancy"), ("HELLP (no fits)", "pregnancy"),
    ("HELLP, coag WNL, Na 131", "pregnancy"), ("HELLP, Tennessee criteria met", "pregnancy"),
    # QA 113: an EHR's field labels and a ward's care words; "s/p" may be a past one.
    ("Working diagnosis: HELLP syndrome", "pregnancy"),
    ("ICD-10 O14.2 - HELLP syndrome", "pregnancy"),
    ("HELLP on magnesium sulfate", "pregnancy"), ("HELLP with acute kidney injury", "pregnancy"),
    ("S/P HELLP", "hus"),
    # A dash or colon the reader reads as ASCII reads so here too: they did not lead.
    ("HELLP \u2013 plt 45, AST 320", "pregnancy"), ("HELLP syndrome \u2014 34 weeks", "pregnancy"),
    ("HELLP \u2236 plt 45", "pregnancy")])
def test_only_a_hellp_named_without_doubt_leads_with_delivery(named, leading, capsys):
    # QA 96 #1: free text says a HELLP is absent or doubtful in more ways than the refusals
    # list; with such a word beside it, the pregnancy cause stays possible.
    assert main(["verdict", *ADULT6, "--adamts13", "60%", "--obstetric-complication",
                 named]) == 0
    assert capsys.readouterr().out.split("\n")[1].startswith(f"Next ({leading}, suspected): ")


@pytest.mark.parametrize("named", ["HELLP, Coombs-negative", "HELLP; HIV negative",
                                   "HELLP, TTP excluded"])
def test_a_hellp_beside_another_findings_negative_leads_with_delivery(named, capsys):
    # QA 98 M1: each was refused (exit 2) because a doubt word stood anywhere in the value.
    assert main(["verdict", *ADULT6, "--adamts13", "60%", "--obstetric-complication",
                 named]) == 0
    assert capsys.readouterr().out.split("\n")[1] == (
        "Next (pregnancy, suspected): urgent obstetric review (delivery for HELLP or "
        "pre-eclampsia: Sibai BM. Obstet Gynecol 2004;103:981-991)")


@pytest.mark.parametrize("named", ["HELP syndrome", "HELLPs"])
def test_a_hellp_misspelt_leads_with_delivery(named, capsys):
    # QA 100 M1: both read as another complication: complement studies led, not delivery.
    assert main(["verdict", *ADULT6, "--adamts13", "60%", "--obstetric-complication",
                 named]) == 0
    assert capsys.readouterr().out.split("\n")[1] == (
        "Next (pregnancy, suspected): urgent obstetric review (delivery for HELLP or "
        "pre-eclampsia: Sibai BM. Obstet Gynecol 2004;103:981-991)")


def test_a_scleroderma_crisis_in_pregnancy_starts_with_the_obstetric_review(capsys):
    # QA 100 LOW: as malignant hypertension's does; it came last, after the drug's stop step.
    assert main(["verdict", *ADULT6, "--adamts13", "60%", "--systemic-sclerosis", "yes",
                 "--pregnancy", "yes", "--drug-exposure", "gemcitabine"]) == 0
    assert capsys.readouterr().out.split("\n")[1] == (
        "Next (scleroderma-renal-crisis, suspected): pregnancy recorded: urgent obstetric review "
        "(pre-eclampsia, HELLP); an ACE inhibitor (captopril) for the blood pressure, with "
        "nephrology and rheumatology; no high-dose corticosteroids, which can precipitate the "
        "crisis (Steen VD, Medsger TA Jr. Arthritis Rheum 1998;41:1613-1619 (corticosteroids); "
        "Steen VD, et al. Ann Intern Med 1990;113:352-357 (ACE inhibitors)); pregnancy recorded: "
        "before delivery an ACE inhibitor can injure the fetus (captopril's boxed warning): "
        f"decide it with obstetrics; suspected drug TMA: {_STOP_GEMCITABINE}")


@pytest.mark.parametrize("recorded", [["--obstetric-complication", "HELLP doubtful"],
                                      ["--pregnancy", "yes"]])
def test_a_pregnancys_next_line_asks_for_the_obstetric_review_whichever_cause_leads(recorded,
                                                                                 capsys):
    # QA 97-99: whether a HELLP named in free text leads is read from its words, which no list
    # reads right every time; a pregnant woman with a TMA needs the urgent review either way.
    assert main(["verdict", *ADULT6, "--adamts13", "60%", *recorded]) == 0
    assert capsys.readouterr().out.split("\n")[1] == (
        "Next (hus, suspected): complement studies for atypical HUS; nephrology; stool "
        "culture/PCR for Shiga toxin-producing E. coli if there is or was diarrhoea; pregnancy "
        "recorded: urgent obstetric review (pre-eclampsia, HELLP)")


@pytest.mark.parametrize(("adamts13", "deferred"), [
    ([], "TTP not excluded: treat as the URGENT line says until ADAMTS13 is back"),
    (["--adamts13", "5%"], "TTP likely: treat as the URGENT line says")])
def test_a_pregnancys_review_is_the_next_step_where_no_cause_leads(adamts13, deferred, capsys):
    # QA 100 H1: beside "TTP suspected" (ADAMTS13 not back) or "TTP likely" nothing led the
    # Next line, and a pregnant woman's urgent obstetric review stood 40 lines down.
    assert main(["verdict", *ADULT6, "--pregnancy", "yes", *adamts13]) == 0
    text = capsys.readouterr().out.split("\n")
    assert text[0].startswith("URGENT - TTP ")
    assert text[2] == (
        "Next (pregnancy, possible): urgent obstetric review (delivery for HELLP or "
        f"pre-eclampsia: Sibai BM. Obstet Gynecol 2004;103:981-991); {deferred}")


def test_a_pregnancy_without_a_tma_in_view_has_no_next_step(capsys):
    # QA 101 H1: "delivery for HELLP or pre-eclampsia" beside "MAHA: insufficient data".
    assert main(["verdict", "--schistocytes", "0", "--pregnancy", "yes"]) == 0
    text = capsys.readouterr().out.split("\n")
    assert text[0] == "MAHA: insufficient data"
    assert not any(line.startswith("Next (") for line in text)


_TRANSPLANT_STEP = (
    "Next (transplant-associated, suspected): with the transplant team: the calcineurin or mTOR "
    "inhibitor's level and dose, blood pressure, proteinuria, soluble C5b-9 (Jodele S, et al. "
    "Blood 2014;124:645-653)")


@pytest.mark.parametrize(("drug", "added"), [
    ("tacrolimus", ""), ("ciclosporin", ""),
    ("gemcitabine", f"; suspected drug TMA: {_STOP_GEMCITABINE}")])
def test_a_transplants_own_immunosuppressant_is_left_to_the_transplant_step(drug, added,
                                                                          capsys):
    # QA 93 #4: "the calcineurin inhibitor's level and dose", then "stop tacrolimus now ... do
    # not re-expose" on one line; another drug is still stopped beside the transplant's step.
    at = ADULT6.index("--transplant") + 1
    transplanted = [*ADULT6[:at], "yes", *ADULT6[at + 1:]]
    assert main(["verdict", *transplanted, "--adamts13", "60%", "--drug-exposure", drug]) == 0
    assert capsys.readouterr().out.split("\n")[1] == _TRANSPLANT_STEP + added


def _with_transplant(argv: list[str], answer: str | None) -> list[str]:
    """``argv`` (ADULT6's) with ``--transplant`` given as ``answer``, or left out (None)."""
    at = argv.index("--transplant")
    return [*argv[:at], *(["--transplant", answer] if answer else []), *argv[at + 2:]]


_STOP_QUININE = (
    "stop quinine (recorded: tacrolimus + quinine) now with its prescribing team (who replace it "
    "where stopping alone does harm: a transplant's immunosuppression, a stent's antiplatelet) "
    "and do not re-expose (Al-Nouri ZL, et al. Blood 2015;125:616-618); report it as an adverse "
    "drug reaction")


def test_a_transplants_inhibitor_beside_another_drug_is_not_stopped_with_it(capsys):
    # QA 95 LOW 3: "stop quinine, tacrolimus ... do not re-expose" beside the transplant step
    # that asks for the tacrolimus level and dose; quinine is still stopped.
    argv = _with_transplant(ADULT6, "yes")
    assert main(["verdict", *argv, "--adamts13", "60%", "--drug-exposure",
                 "tacrolimus + quinine"]) == 0
    assert capsys.readouterr().out.split("\n")[1] == (
        f"{_TRANSPLANT_STEP}; suspected drug TMA: {_STOP_QUININE}")


@pytest.mark.parametrize(("transplant", "step"), [
    ("yes", "with the transplant team: the level and dose of tacrolimus: reduce it or switch to "
            "another immunosuppressant, not stop it alone (rejection, graft-versus-host disease) "
            "(Jodele S, et al. Blood 2014;124:645-653)"),
    (None, "with the transplant or prescribing team: reduce, switch or stop tacrolimus (a "
           "transplant's immunosuppression is not stopped alone: record whether there is a "
           "transplant) (Al-Nouri ZL, et al. Blood 2015;125:616-618)"),
    ("no", "stop tacrolimus now with its prescribing team (who replace it where stopping alone "
           "does harm: a transplant's immunosuppression, a stent's antiplatelet) and do not "
           "re-expose (Al-Nouri ZL, et al. Blood 2015;125:616-618); report it as an adverse drug "
           "reaction")])
def test_a_calcineurin_inhibitor_is_stopped_for_good_only_without_a_transplant(transplant, step,
                                                                             capsys):
    # QA 96 LOW 4: with a transplant recorded (no kidney injury: the drug leads) or not
    # recorded, "stop tacrolimus now ... and do not re-expose" led the Next line.
    at = ADULT6.index("--creatinine") + 1
    argv = _with_transplant([*ADULT6[:at], "1.0mg/dL", *ADULT6[at + 1:]], transplant)
    assert main(["verdict", *argv, "--adamts13", "60%", "--drug-exposure", "tacrolimus"]) == 0
    assert capsys.readouterr().out.split("\n")[1] == f"Next (drug-induced, suspected): {step}"


_STOP_CLOPIDOGREL = (
    "stop clopidogrel now with its prescribing team (who replace it where stopping alone does "
    "harm: a transplant's immunosuppression, a stent's antiplatelet) and do not re-expose "
    "(Al-Nouri ZL, et al. Blood 2015;125:616-618); report it as an adverse drug reaction")


@pytest.mark.parametrize("population", ["adult", "child"])
def test_a_thienopyridine_that_triggered_a_likely_ttp_is_stopped_on_the_next_line(population,
                                                                                capsys):
    # QA 96 LOW 3: at ADAMTS13 5% the drug is only possible (an immune TTP), and "stop
    # clopidogrel" stood only in the differential; the differential keeps TTP first.
    assert main(["verdict", *ADULT6, "--adamts13", "5%", "--population", population,
                 "--drug-exposure", "clopidogrel"]) == 0
    text = capsys.readouterr().out.split("\n")
    assert text[0].startswith("URGENT - TTP likely: ")
    assert text[2] == (f"Next (drug-induced, possible): {_STOP_CLOPIDOGREL}; TTP likely: treat "
                       "as the URGENT line says")
    ranked = [line for line in text if line.startswith("  1. ") or line.startswith("  2. ")]
    assert [line.split(" [")[0] for line in ranked] == [
        "  1. ttp: likely (emergency)", "  2. drug-induced: possible (urgent)"]


def test_a_named_hellp_keeps_the_next_line_beside_a_likely_ttps_thienopyridine(capsys):
    # QA 102 L2: the thienopyridine's stop step took the line from the HELLP's delivery; it
    # follows the action that leads, named as a trigger of this TTP, not a drug TMA.
    assert main(["verdict", *ADULT6, "--adamts13", "5%", "--drug-exposure", "clopidogrel",
                 "--pregnancy", "yes", "--obstetric-complication", "HELLP"]) == 0
    text = capsys.readouterr().out.split("\n")
    assert text[0].startswith("URGENT - TTP likely: ")
    assert text[2] == (
        "Next (pregnancy, suspected): urgent obstetric review (delivery for HELLP or "
        "pre-eclampsia: Sibai BM. Obstet Gynecol 2004;103:981-991); clopidogrel can trigger this "
        f"TTP: {_STOP_CLOPIDOGREL}; TTP likely: treat as the URGENT line says")
    # QA 103 L4: a drug stopped with it is named no trigger.
    assert main(["verdict", *ADULT6, "--adamts13", "5%", "--drug-exposure", "clopidogrel + quinine",
                 "--pregnancy", "yes", "--obstetric-complication", "HELLP"]) == 0
    assert "); clopidogrel can trigger this TTP: stop clopidogrel, quinine (recorded: " in (
        capsys.readouterr().out.split("\n")[2])


def test_another_drug_beside_a_likely_ttp_has_no_next_line(capsys):
    # Quinine triggers no immune TTP: beside ADAMTS13 5% it stays in the differential.
    assert main(["verdict", *ADULT6, "--adamts13", "5%", "--drug-exposure", "quinine"]) == 0
    text = capsys.readouterr().out.split("\n")
    assert text[0].startswith("URGENT - TTP likely: ") and text[1] == "MAHA: likely"
    assert not any(line.startswith("Next (") for line in text)


@pytest.mark.parametrize(("population", "deferred"), [
    ("adult", "TTP not excluded: treat as the URGENT line says until ADAMTS13 is back"),
    ("child", "ADAMTS13 sample before any plasma: whether to treat as TTP until it is back is "
              "haematology's call (PLASMIC was derived in adults)")])
def test_a_suspected_drug_tma_stands_beside_the_urgent_line_deferring_to_it(population, deferred,
                                                                            capsys):
    # QA 93: under "TTP suspected" stopping gemcitabine, which conflicts with nothing TTP's
    # treatment asks, stood only in the differential, some 40 lines down.
    assert main(["verdict", *ADULT6, "--drug-exposure", "gemcitabine", "--population",
                 population]) == 0
    text = capsys.readouterr().out.split("\n")
    assert text[0].startswith("URGENT - TTP ")
    assert text[2] == f"Next (drug-induced, suspected): {_STOP_GEMCITABINE}; {deferred}"


def test_a_suspected_drug_tma_that_leads_is_stopped_once(capsys):
    assert main(["verdict", *ADULT6, "--drug-exposure", "gemcitabine", "--adamts13", "60%"]) == 0
    assert capsys.readouterr().out.split("\n")[1] == (
        f"Next (drug-induced, suspected): {_STOP_GEMCITABINE}")


#: QA 116 M-2: MAHA likely, PLASMIC 4 at most (MCV and INR score none) and the French score 1
#: of 2 (platelets over 30 or creatinine over 200 umol/L): TTP unlikely, no URGENT line.
PLASMIC4 = ["verdict", "--schistocytes", "5", "--rbc-counted", "1000", "--hemoglobin", "8 g/dL",
            "--sex", "female", "--mcv", "95", "--ldh", "1200", "--ldh-uln", "250",
            "--haptoglobin", "<0.1 g/L", "--reticulocytes", "6 %",
            "--indirect-bilirubin", "2.5 mg/dL", "--dat", "negative", "--inr", "1.6",
            "--transplant", "no"]
_ASKED = "send ADAMTS13 now, before plasma exchange or transfusion: only its result excludes TTP"


@pytest.mark.parametrize(("extra", "next_line"), [
    (["--platelets", "15", "--creatinine", "2.5 mg/dL", "--active-cancer", "no"],
     "Next (hus, possible): complement studies for atypical HUS; nephrology; stool culture/PCR "
     "for Shiga toxin-producing E. coli if there is or was diarrhoea; send ADAMTS13"),
    (["--platelets", "60", "--creatinine", "1 mg/dL", "--active-cancer", "yes"],
     "Next (cancer-associated, possible): bone-marrow examination (aspirate and trephine "
     f"biopsy); oncology review; {_ASKED}"),
    (["--platelets", "15", "--creatinine", "2.5 mg/dL", "--active-cancer", "no",
      "--drug-exposure", "gemcitabine"],
     "Next (drug-induced, suspected): stop gemcitabine now with its prescribing team (who "
     "replace it where stopping alone does harm: a transplant's immunosuppression, a stent's "
     "antiplatelet) and do not re-expose (Al-Nouri ZL, et al. Blood 2015;125:616-618); report "
     f"it as an adverse drug reaction; {_ASKED}"),
])
def test_a_likely_maha_without_an_urgent_line_has_a_next_step_asking_for_adamts13(
        extra, next_line, capsys):
    # QA 116 M-2: no cause leading printed no Next line, and ADAMTS13, which alone excludes
    # TTP, stood only in HUS's action and under "Missing".
    assert main([*PLASMIC4, *extra]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[:2] == ["MAHA: likely", next_line]
    assert not any(line.startswith("URGENT") for line in out)


def test_a_likely_maha_with_adamts13_measured_is_not_asked_for_it_again(capsys):
    assert main([*PLASMIC4, "--platelets", "60", "--creatinine", "1 mg/dL", "--active-cancer",
                 "yes", "--adamts13", "60 %"]) == 0
    assert capsys.readouterr().out.splitlines()[:2] == [
        "MAHA: likely",
        "Next (cancer-associated, suspected): bone-marrow examination (aspirate and trephine "
        "biopsy); oncology review; plasma exchange is usually ineffective here: treating the "
        "cancer is what helps (seed 000 (cancer-associated MAHA in breast cancer; CLINICAL.md))"]


def test_a_severe_deficiency_with_haemolysis_and_normal_platelets_asks_for_the_count_again(
        capsys):
    # QA 116 M-1: ADAMTS13 8% with platelets 250 read "start plasma exchange and corticosteroids
    # now", the normal count only a finding against.
    assert main(["verdict", "--schistocytes", "3", "--platelets", "250", "--ldh", "1500 U/L",
                 "--ldh-uln", "250", "--haptoglobin", "<0.1 g/L", "--reticulocytes", "6 %",
                 "--indirect-bilirubin", "2.5 mg/dL", "--dat", "negative", "--adamts13",
                 "8 %"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == (
        "URGENT - TTP likely: a medical emergency. Refer to haematology now; ADAMTS13 under 10% "
        "is a severe deficiency, but the platelets are measured normal, which an acute "
        "episode's are not: repeat the count now; start plasma exchange and corticosteroids if "
        "it is low or falling (a relapse), or as haematology judges the haemolysis; "
        "caplacizumab only with that regimen, for an acute episode; a deficiency in a clinical "
        "remission (counts normal) is weighed by haematology for pre-emptive rituximab; do not "
        "transfuse platelets unless there is life-threatening bleeding (ISTH 2020 TTP "
        "guidelines (Zheng XL, et al. J Thromb Haemost 2020;18:2486-2495 and 2496-2502)).")
    assert ("     - platelets 250 x10^9/L not below 150 x10^9/L, which an acute episode's are "
            "(ISTH 2020 TTP guidelines (Zheng XL, et al. J Thromb Haemost 2020;18:2486-2495 and "
            "2496-2502)): a relapse starting (a platelet count falling under 150 x10^9/L, ISTH "
            "working group's TTP outcome definitions (Cuker A, et al. Blood "
            "2021;137(14):1855-1861)), or a remission's deficiency beside another haemolysis; "
            "repeat the count (this tool's rule)") in out


#: QA 117's classic TTP picture (platelets 15, haemolysis, normal creatinine) with every lab
#: value given.
CLASSIC_FULL = ["verdict", "--schistocytes", "3", "--rbc-counted", "1000", "--platelets", "15",
                "--hemoglobin", "8.5 g/dL", "--sex", "female", "--wbc", "7.5", "--mcv", "85",
                "--reticulocytes", "6 %", "--ldh", "1200 U/L", "--ldh-uln", "250 U/L",
                "--haptoglobin", "0.05 g/L", "--haptoglobin-lln", "0.3 g/L",
                "--indirect-bilirubin", "2.8 mg/dL", "--dat", "negative", "--creatinine",
                "0.9 mg/dL", "--creatinine-uln", "1.0 mg/dL", "--pt-prolongation-s", "1 s",
                "--inr", "1.1", "--fibrinogen", "2.8 g/L", "--d-dimer-uln", "500 ng/mL",
                "--active-cancer", "no", "--transplant", "no"]


def test_a_hus_kept_open_beside_a_negative_adamts13_has_its_action_on_the_next_line(capsys):
    # QA 117 M-5: kept possible (MAHA likely, TTP unlikely, no other cause), HUS had no action
    # and the verdict no Next line.
    assert main([*CLASSIC_FULL, "--d-dimer", "1500 ng/mL", "--adamts13", "50 %"]) == 0
    assert capsys.readouterr().out.splitlines()[:2] == [
        "MAHA: likely",
        "Next (hus, possible): complement studies for atypical HUS; nephrology; stool "
        "culture/PCR for Shiga toxin-producing E. coli if there is or was diarrhoea"]


def test_a_marrow_work_up_on_the_next_line_asks_for_adamts13_while_ttp_is_not_excluded(capsys):
    # QA 117 M-6: a metastatic cancer's marrow work-up stood alone, ADAMTS13 never measured.
    options = ["verdict", "--schistocytes", "6", "--rbc-counted", "1000", "--nrbc",
               "--leukoerythroblastic", "present", "--platelets", "80", "--hemoglobin",
               "7.5 g/dL", "--sex", "female", "--wbc", "10.8", "--mcv", "104", "--reticulocytes",
               "18.8 %", "--ldh", "2477 U/L", "--ldh-uln", "225 U/L", "--haptoglobin", "0.05 g/L",
               "--indirect-bilirubin", "4.2 mg/dL", "--dat", "negative", "--creatinine",
               "0.64 mg/dL", "--inr", "1.17", "--active-cancer", "yes", "--metastatic-cancer",
               "yes", "--transplant", "no"]
    assert main(options) == 0
    assert capsys.readouterr().out.splitlines()[:2] == [
        "MAHA: likely",
        "Next (marrow infiltration, suspected): bone-marrow aspirate and trephine biopsy; "
        f"{_ASKED}"]
    # ADAMTS13 measured normal makes the cancer's MAHA itself suspected: its action leads.
    assert main([*options, "--adamts13", "60 %"]) == 0
    assert capsys.readouterr().out.splitlines()[1] == (
        "Next (cancer-associated, suspected): bone-marrow examination (aspirate and trephine "
        "biopsy); oncology review; plasma exchange is usually ineffective here: treating the "
        "cancer is what helps (seed 000 (cancer-associated MAHA in breast cancer; CLINICAL.md))")


#: QA 117 H-1: a septic picture, platelets 20, fibrinogen under 1 g/L: ISTH overt DIC 3 with a
#: normal D-dimer.
SEPTIC_LOW_FIBRINOGEN = [
    "verdict", "--schistocytes", "3", "--rbc-counted", "1000", "--platelets", "20",
    "--hemoglobin", "8.5 g/dL", "--sex", "female", "--mcv", "92", "--reticulocytes", "6 %",
    "--ldh", "1200 U/L", "--ldh-uln", "250 U/L", "--haptoglobin", "0.05 g/L",
    "--indirect-bilirubin", "2.8 mg/dL", "--dat", "negative", "--creatinine", "2.1 mg/dL",
    "--pt-prolongation-s", "2 s", "--inr", "1.6", "--fibrinogen", "0.9 g/L", "--active-cancer",
    "no", "--transplant", "no", "--sepsis", "yes", "--d-dimer-uln", "500 ng/mL"]


@pytest.mark.parametrize(("base", "option", "meant", "slipped", "why"), [
    # QA 116 H-1: '2.5 mg/dL' (2.5 g/L meant) read 0.025 g/L: overt DIC (5) led and TTP was
    # "unlikely", the URGENT line gone.
    (SEPTIC_TTP, "--fibrinogen", "2.5 g/L", "2.5 mg/dL",
     "fibrinogen = '2.5 mg/dL': 0.025 g/L is outside the plausible range 0.05-15 g/L (was it "
     "in g/L?)"),
    # QA 117 H-1: '400 mg/L' (400 ng/mL meant) read 800x its limit: overt DIC (6).
    (SEPTIC_LOW_FIBRINOGEN, "--d-dimer", "400 ng/mL", "400 mg/L",
     "d_dimer = 400000 ng/mL is 800x d_dimer_uln = 500 ng/mL (over 300x, past every assay's "
     "measuring range): are both in the same unit (mg/L vs ng/mL is 1000x)? An undetectable "
     "D-dimer is given as a bound, e.g. '<0.2 mg/L', and one past the assay's range as "
     "one within it, e.g. '>20 mg/L' (ISTH scores any over 7x alike)"),
])
def test_a_unit_slip_that_scored_overt_dic_is_refused_with_the_urgent_line(
        base, option, meant, slipped, why, capsys):
    assert main([*base, option, meant]) == 0
    expected = capsys.readouterr().out.splitlines()[0]
    assert expected.startswith("URGENT - TTP possible: ")
    assert main([*base, option, slipped]) == 2
    captured = capsys.readouterr()
    assert captured.out == expected + "\n"
    assert captured.err == f"smearscan verdict: command line: {why}\n"


def test_a_childs_possible_stec_hus_beside_a_possible_ttp_is_the_next_step(capsys):
    # QA 122 M2: bloody diarrhoea, platelets 40, creatinine 1.2 mg/dL without the lab's limit:
    # HUS possible beside "TTP possible", and no Next line; the stool culture and the advice
    # against antibiotics stood only in the differential.
    assert main(["verdict", "--population", "child", "--schistocytes", "3", "--rbc-counted",
                 "1000", "--platelets", "40", "--hemoglobin", "7.5 g/dL", "--ldh", "1800 U/L",
                 "--ldh-uln", "600 U/L", "--haptoglobin", "<0.1 g/L", "--reticulocytes", "5 %",
                 "--dat", "negative", "--diarrhoea", "yes", "--mcv", "82", "--inr", "1.1",
                 "--creatinine", "1.2 mg/dL"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("URGENT - TTP possible: ")
    assert out[2].startswith("Next (hus, possible): stool culture/PCR for Shiga toxin-producing "
                             "E. coli; supportive care with nephrology: fluids, dialysis as "
                             "needed; no antibiotics or antimotility drugs")
    # A drug only possible (a bare yes) still does not lead beside the URGENT line.
    assert main(["verdict", "--schistocytes", "3", "--rbc-counted", "1000", "--platelets", "20",
                 "--hemoglobin", "7.5 g/dL", "--sex", "female", "--ldh", "1800 U/L",
                 "--ldh-uln", "250 U/L", "--haptoglobin", "<0.1 g/L", "--reticulocytes", "5 %",
                 "--dat", "negative", "--mcv", "92", "--inr", "1.6", "--active-cancer", "no",
                 "--transplant", "no", "--creatinine", "0.9 mg/dL", "--drug-exposure",
                 "yes"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("URGENT - TTP possible: ") and lines[1] == "MAHA: likely"
    assert not lines[2].startswith("Next")


@pytest.mark.parametrize("beside", [
    # QA 123: a likely septic DIC, a suspected immune haemolysis and a recorded gemcitabine
    # (a drug TMA possible) each stood behind a possible HUS that led the Next line.
    ["--inr", "1.0", "--fibrinogen", "1.5 g/L", "--d-dimer", "6000 ng/mL", "--d-dimer-uln",
     "500 ng/mL", "--sepsis", "yes"],
    ["--reticulocytes", "6 %", "--dat", "positive"],
    ["--drug-exposure", "gemcitabine"]])
def test_a_possible_cause_does_not_lead_beside_the_urgent_line_over_another_in_play(
        beside, capsys):
    assert main(["verdict", "--schistocytes", "3", "--platelets", "25", "--hemoglobin", "8 g/dL",
                 "--ldh", "1500 U/L", "--ldh-uln", "250", "--creatinine", "3.1 mg/dL",
                 *beside]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("URGENT - TTP possible: ") and out[1] == "MAHA: possible"
    assert not any(line.startswith("Next") for line in out)
