"""Issue 19: the network alone under each runtime, what the symmetry views cost, int8
quantisation, and this code timed against an older checkout (``--before``).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from benchmarking.children import child_env
from benchmarking.common import ROOT, Context, Report
from benchmarking.in_process import items_per_second
from benchmarking.machine import single_threaded

#: Batch sizes of the runtime comparison: one crop, the per-field batch, a large batch.
RUNTIME_BATCHES = (1, 32, 256)


def network_runners(model_path: Path | None) -> dict[str, Callable[[int], object]]:
    """By name, a maker of the network at a thread count: ONNX Runtime at three graph
    optimisation levels, and torch (the folded network analysis ran before issue 19, unpadded)
    when torch is installed."""
    from smearscan import default_model_path
    from smearscan.classification import OnnxNetwork, onnx_session

    onnx = model_path or default_model_path()
    runners: dict[str, Callable[[int], object]] = {
        f"ONNX Runtime, optimisation {level}":
            lambda threads, level=level: OnnxNetwork(onnx_session(onnx, threads=threads,
                                                                  optimisation=level))
        for level in ("all", "basic", "disable")}
    try:
        import torch

        from smearscan.network import TorchNetwork, load_network
    except ImportError:
        return runners

    def torch_network(threads: int) -> object:
        torch.set_num_threads(threads)
        return TorchNetwork(load_network(onnx.with_suffix(".pt"))[0], pad_rows=1)

    runners["torch 2 (oneDNN, batch norm folded, channels-last)"] = torch_network
    return runners


def runtime_throughput(model_path: Path | None, crops: np.ndarray, seconds: float,
                       report: Report) -> dict[tuple[str, int, int], float]:
    """Crops per second of the network alone (one view, softmax outputs), by (runner, batch,
    threads)."""
    rates = {}
    for name, make in network_runners(model_path).items():
        batches = RUNTIME_BATCHES if "optimisation all" in name or "torch" in name else (32,)
        for threads in (1, 2):
            network = make(threads)
            for batch in batches:
                x = np.ascontiguousarray(np.resize(crops, (batch, *crops.shape[1:])))
                rates[(name, batch, threads)] = items_per_second(lambda n=network, x=x: n(x), batch,
                                                      seconds)
    single_threaded()
    report.section("Network alone by runtime (one view per crop, softmax outputs), crops/s",
                   ("runtime", "batch", "1 thread", "2 threads"),
                   [(name, batch, f"{rates[(name, batch, 1)]:,.0f}",
                     f"{rates[(name, batch, 2)]:,.0f}")
                    for name, batch in dict.fromkeys((n, b) for n, b, _ in rates)])
    return rates


def symmetry_cost(model, crops: np.ndarray, seconds: float, report: Report) -> None:
    """What the symmetry views cost and change on real crops (calls with and without them)."""
    import dataclasses

    from smearscan.classification import classify, predict_probabilities

    single = dataclasses.replace(model, symmetry_band=None)
    probabilities = predict_probabilities(single, crops)[0]
    targets = [model.classes.index(c) for c in model.thresholds]
    top = probabilities[:, targets].max(axis=1)
    low, high = model.symmetry_band
    in_band = int(((top >= low) & (top < high)).sum())
    changed = int((classify(model, crops).label != classify(single, crops).label).sum())
    with_views = items_per_second(lambda: classify(model, crops), len(crops), seconds)
    without = items_per_second(lambda: classify(single, crops), len(crops), seconds)
    report.section(
        f"Symmetry views ({len(crops)} real crops of Chula fields, 1 thread)",
        ("measure", "value"),
        [("objects in the band [low, high) re-scored over 8 views",
          f"{in_band} ({100 * in_band / len(crops):.1f}%)"),
         ("calls the views change", f"{changed} ({100 * changed / len(crops):.2f}%)"),
         ("classify with views, crops/s", f"{with_views:,.0f}"),
         ("classify without views, crops/s", f"{without:,.0f}")])


def int8_network(model_path: Path | None, calibration: np.ndarray, folder: Path):
    """ONNX Runtime's static int8 quantisation of the model (QDQ, weights per channel),
    calibrated on ``calibration`` crops; one thread."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from smearscan import default_model_path
    from smearscan.classification import OnnxNetwork, onnx_session

    class Crops(CalibrationDataReader):
        def __init__(self) -> None:
            self.batches = iter([{"crops": calibration[i:i + 32]}
                                 for i in range(0, len(calibration), 32)])

        def get_next(self) -> dict | None:
            return next(self.batches, None)

    prepared, quantised = folder / "prepared.onnx", folder / "int8.onnx"
    quant_pre_process(str(model_path or default_model_path()), str(prepared))
    quantize_static(str(prepared), str(quantised), Crops(), quant_format=QuantFormat.QDQ,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                    per_channel=True)
    return OnnxNetwork(onnx_session(quantised, threads=1))


def int8_comparison(ctx: Context, crops: np.ndarray) -> None:
    """Speed and calls of the int8 network against the float one, on crops it was not
    calibrated on (calibration on the first half)."""
    from smearscan.classification import call_labels

    half = len(crops) // 2
    quantised = int8_network(ctx.args.model, crops[:half], ctx.tmp)
    held_out = crops[half:]
    float_probabilities = ctx.model.network(held_out)[0]
    int8_probabilities = quantised(held_out)[0]
    calls = [call_labels(p, ctx.model.classes, ctx.model.thresholds)
             for p in (float_probabilities, int8_probabilities)]
    changed = int((calls[0] != calls[1]).sum())
    seconds = ctx.counts.classifier_seconds
    batch = np.ascontiguousarray(np.resize(crops, (32, *crops.shape[1:])))
    rates = [items_per_second(lambda n=n: n(batch), 32, seconds)
             for n in (ctx.model.network, quantised)]
    ctx.report.section(
        f"int8 static quantisation (ONNX Runtime, calibrated on {half} real crops, compared on "
        f"{len(held_out)} others; batch 32, 1 thread)", ("measure", "float32", "int8"),
        [("crops/s", f"{rates[0]:,.0f}", f"{rates[1]:,.0f}"),
         ("calls that differ from float32", "",
          f"{changed} ({100 * changed / len(held_out):.1f}%)"),
         ("max abs probability difference", "",
          f"{np.abs(float_probabilities - int8_probabilities).max():.3f}")])



#: Median wall and CPU seconds per field of ``analyse_field`` (classified, no output folder) over
#: the fields given after the model path, after one warm-up field; run in a child per code tree.
_FIELD_TIMES = """
import statistics, sys, time
from pathlib import Path
import cv2
cv2.setNumThreads(1)
# pipeline names FieldTask in both trees (defined there before issue 20, imported after); a
# try of smearscan.results would find this tree's module through its editable install.
from smearscan.pipeline import FieldTask, analyse_field
model = Path(sys.argv[1])
tasks = [FieldTask(slide="b", path=Path(p), image=Path(p).name, model_path=model)
         for p in sys.argv[2:]]
analyse_field(tasks[0])
walls, cpus = [], []
for task in tasks:
    wall, cpu = time.perf_counter(), time.process_time()
    analyse_field(task)
    walls.append(time.perf_counter() - wall)
    cpus.append(time.process_time() - cpu)
print(statistics.median(walls), statistics.median(cpus))
"""


def _children_cpu() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def tree_env(tree: Path) -> dict[str, str]:
    """The environment of a child that runs the smearscan of ``tree``, on one core."""
    env = child_env()
    env["PYTHONPATH"] = os.pathsep.join([str(tree), os.environ.get("PYTHONPATH", "")])
    return env


def tree_model(tree: Path) -> Path:
    """The shipped model of a code tree: default.onnx where there is one, else default.pt."""
    onnx = tree / "models" / "default.onnx"
    return onnx if onnx.is_file() else tree / "models" / "default.pt"


def before_after(before: Path, fields: list[Path], rounds: int, repeats: int, report: Report
                 ) -> dict[str, dict[str, float]]:
    """Per-field seconds and one-field CLI seconds of ``before`` and of this tree, alternated in
    ``rounds`` so that both meet the same machine load. CPU seconds (the process's, or the
    CLI child's user + system) are reported beside wall seconds: on a shared machine they
    are the steadier measure of the work. Returns medians by measure, then by tree."""
    trees = {"before": before.resolve(), "after": ROOT}
    samples: dict[str, dict[str, list[float]]] = {
        measure: {name: [] for name in trees}
        for measure in ("e2e wall", "e2e cpu", "cli wall", "cli cpu")}
    for _ in range(rounds):
        for name, tree in trees.items():
            done = subprocess.run(
                [sys.executable, "-c", _FIELD_TIMES, str(tree_model(tree)), *map(str, fields)],
                cwd=tree, env=tree_env(tree), capture_output=True, text=True, check=True)
            wall, cpu = map(float, done.stdout.split()[-2:])
            samples["e2e wall"][name].append(wall)
            samples["e2e cpu"][name].append(cpu)
            for _ in range(repeats):
                start, cpu = time.perf_counter(), _children_cpu()
                subprocess.run([sys.executable, "-m", "smearscan.cli", str(fields[0]),
                                "--quiet", "--model", str(tree_model(tree))], cwd=tree,
                               env=tree_env(tree), capture_output=True, check=True)
                samples["cli wall"][name].append(time.perf_counter() - start)
                samples["cli cpu"][name].append(_children_cpu() - cpu)
    medians = {measure: {name: statistics.median(values) for name, values in by_tree.items()}
               for measure, by_tree in samples.items()}
    labels = {
        "e2e wall": f"end to end in process, wall s/field (median of {len(fields) - 1} fields "
                    "per round, median over rounds)",
        "e2e cpu": "end to end in process, CPU s/field (same runs)",
        "cli wall": f"one-field CLI, start-up included, wall s (median of {rounds * repeats})",
        "cli cpu": "one-field CLI, start-up included, CPU s (same runs)"}
    rows = [(labels[m], f"{v['before']:.3f}", f"{v['after']:.3f}",
             f"{v['after'] / v['before']:.2f}") for m, v in medians.items()]
    rows.append(("per-round e2e wall, s/field",
                 " ".join(f"{v:.3f}" for v in samples["e2e wall"]["before"]),
                 " ".join(f"{v:.3f}" for v in samples["e2e wall"]["after"]), ""))
    report.section(
        f"Before/after (`--before {before}`): classified 640x480 Chula fields, one core, "
        f"{rounds} alternated rounds", ("measure", "before", "after", "after / before"), rows)
    return medians
