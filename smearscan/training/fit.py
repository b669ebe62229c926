"""Fitting a fresh :class:`~smearscan.network.CellNet` on cached crops."""

from __future__ import annotations

import copy
import math
import sys
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torchvision.transforms.functional import gaussian_blur

from smearscan.classification import CROP_SIZE
from smearscan.network import DEFAULT_ARCHITECTURE, build_network
from smearscan.training.crops import CropSet

EPOCHS = 40
BATCH_SIZE = 128
LEARNING_RATE = 3e-3
WEIGHT_DECAY = 1e-4
MORPHOLOGY_LOSS_WEIGHT = 0.5
#: Sampling weight of a label group is count**-SAMPLING_POWER (0 natural, 1 balanced).
SAMPLING_POWER = 0.5


@dataclass(frozen=True)
class Recipe:
    """The choices of a training run that cross-validation compares.

    Attributes
    ----------
    size_jitter : (float, float)
        Range of the factor on a cell's apparent size (log-uniform): (0.905, 1.105) is the
        +-10% of ``cnn-2026.11-7``; (0.6, 1.5) mimics a wrongly declared or estimated pixel size
        and other magnifications.
    label_smoothing : float
        Cross-entropy label smoothing of the class head (0: plain cross-entropy); a guard
        against the noisy schistocyte/other boundary of the Chula labels.
    channel_gain : (float, float)
        Range of the factor on each colour channel's optical density (log-uniform, one per
        channel): another stain's hue. The default x0.85-1.15 is that of every model up to
        ``cnn-2026.12-3``, whose sensitivity a stain whose blue or red density differs by half
        again from Chula's cost up to 15% (``scripts/image_quality.py --change hue``).
    chula_channel_gain : (float, float) or None
        The same range for Chula crops only (None: ``channel_gain``); ``cnn-2026.12-4`` trained
        with x0.67-1.49, which keeps the loss to 5%. Chula holds every schistocyte label, all
        from one stain; a range as wide on every crop took the immature-granulocyte sensitivity
        (PBC) from 0.91 to 0.51 on its test split, since granules and cytoplasm are told apart
        by their colour (model card).
    mask_edge_jitter : float
        The object mask's edge moved in or out by up to this fraction of one crop pixel
        (0.25 um; at most 1), the same amount all round one crop (0: not moved). The
        segmentation draws a cell's outline a pixel differently at another magnification or
        focus; a network that reads the mask's exact edge changes its call with it (ad hoc, a
        fold model of ``cnn-2026.12-4``: 5-7 schistocyte calls per 1000 red cells change when
        every outline moves by one pixel of a Chula field). A jitter of 1 halved that but not the
        calls that change when a field is resampled, and was not shipped (model card, "A mask
        whose edge moves").
    shift_consistency : float
        Weight of a consistency term (0: none): the symmetric Kullback-Leibler divergence
        between the class outputs of each augmented crop and of the same crop moved by up to
        ``consistency_shift`` crop pixels along each axis (bilinear). The segmentation puts an
        object's centre a fraction of a pixel elsewhere at another magnification, and the
        shipped network's call moves with where the cell sits in its crop; this asks the
        network for the same output. Weight 10 from the start halved how far a borderline
        score moves under a resampling but cost ROC AUC and sensitivity, and was not shipped
        (model card, "A shift-consistency term").
    consistency_shift : float
        Largest move of that second view, in crop pixels (0.25 um each).
    """

    size_jitter: tuple[float, float] = (math.exp(-0.1), math.exp(0.1))
    label_smoothing: float = 0.0
    channel_gain: tuple[float, float] = (math.exp(-0.16), math.exp(0.14))
    chula_channel_gain: tuple[float, float] | None = None
    mask_edge_jitter: float = 0.0
    shift_consistency: float = 0.0
    consistency_shift: float = 2.0

    def __post_init__(self) -> None:
        if not 0 <= self.mask_edge_jitter <= 1:
            raise ValueError(f"mask_edge_jitter must lie in 0-1 crop pixels, not "
                             f"{self.mask_edge_jitter:g}")
        if self.shift_consistency < 0 or not 0 < self.consistency_shift <= 8:
            raise ValueError(f"shift_consistency must be >= 0 (not {self.shift_consistency:g}) "
                             f"and consistency_shift in (0, 8] crop pixels (not "
                             f"{self.consistency_shift:g})")

    def as_metadata(self) -> dict[str, Any]:
        """The recipe as a model file's or a cross-validation's ``training`` entries."""
        return {"size_jitter": list(self.size_jitter), "label_smoothing": self.label_smoothing,
                "channel_gain": list(self.channel_gain),
                "chula_channel_gain": (list(self.chula_channel_gain)
                                       if self.chula_channel_gain else None),
                "mask_edge_jitter": self.mask_edge_jitter,
                "shift_consistency": self.shift_consistency,
                # The move is part of the recipe only when the term is.
                **({"consistency_shift": self.consistency_shift} if self.shift_consistency
                   else {})}


#: The recipe of the shipped ``cnn-2026.12-4`` (``scripts/train_default.sh``), the default of
#: ``smearscan train`` and ``scripts/cross_validate.py``; ``Recipe()`` is that of every model up
#: to ``cnn-2026.12-3``.
DEFAULT_RECIPE = Recipe(chula_channel_gain=(0.67, 1.49))


def augmented(batch: torch.Tensor, size: int, generator: torch.Generator, *,
              size_jitter: tuple[float, float] = Recipe.size_jitter,
              channel_gain: tuple[float, float] = Recipe.channel_gain,
              other_gain: tuple[torch.Tensor, tuple[float, float]] | None = None,
              mask_edge_jitter: float = 0.0) -> torch.Tensor:
    """Randomly rotated, flipped, scaled, stain-jittered and blurred central crops.

    Parameters
    ----------
    batch : (B, 4, S + 2 MARGIN, S + 2 MARGIN) float tensor
    size : int
        Output side S.
    generator : torch.Generator
    size_jitter : (float, float), keyword-only
        Range of the factor on the apparent size (log-uniform).
    channel_gain : (float, float), keyword-only
        Range of the factor on each channel's optical density (log-uniform).
    other_gain : (B bool tensor, (float, float)) or None, keyword-only
        Crops that take their per-channel factor from another range instead.
    mask_edge_jitter : float, keyword-only
        Largest move of the mask's edge, in crop pixels (:attr:`Recipe.mask_edge_jitter`).

    Returns
    -------
    (B, 4, S, S) float tensor
        Any rotation angle, a random flip, the size jitter, shift up to 1 px; optical densities
        multiplied by a global (x0.75-1.3) and a per-channel gain (``channel_gain``); half the
        batch blurred (sigma 0.3-1.2 px, focus).
    """
    n = batch.shape[0]

    def uniform(low: float, high: float, *shape: int) -> torch.Tensor:
        # Drawn from the CPU generator whatever the batch's device: one random stream.
        return (low + (high - low) * torch.rand(*shape, generator=generator)).to(batch.device)

    angle = uniform(0, 2 * math.pi, n)
    # The grid samples ``scale`` of the input's extent: a larger region shows a smaller cell.
    smallest, largest = size_jitter
    scale = torch.exp(uniform(-math.log(largest), -math.log(smallest), n)) * size / batch.shape[-1]
    flip = torch.where(torch.rand(n, generator=generator) < 0.5, -1.0, 1.0).to(batch.device)
    theta = torch.zeros(n, 2, 3, device=batch.device)
    theta[:, 0, 0] = torch.cos(angle) * scale * flip
    theta[:, 0, 1] = -torch.sin(angle) * scale
    theta[:, 1, 0] = torch.sin(angle) * scale * flip
    theta[:, 1, 1] = torch.cos(angle) * scale
    theta[:, :, 2] = uniform(-1, 1, n, 2) * 2 / batch.shape[-1]
    grid = F.affine_grid(theta, [n, 4, size, size], align_corners=False)
    out = F.grid_sample(batch, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    lowest, highest = (math.log(g) for g in channel_gain)
    overall = uniform(-0.29, 0.26, n, 1, 1, 1)
    per_channel = uniform(lowest, highest, n, 3, 1, 1)
    if other_gain is not None:
        # Drawn only when asked for, so that a recipe without it keeps its random stream.
        rows, (low, high) = other_gain
        other = uniform(math.log(low), math.log(high), n, 3, 1, 1)
        per_channel = torch.where(rows.view(n, 1, 1, 1).to(batch.device), other, per_channel)
    gain = torch.exp(overall + per_channel)
    density = out[:, :3] * gain
    blurred = (torch.rand(n, generator=generator) < 0.5).to(batch.device)
    if blurred.any():
        sigma = float(uniform(0.3, 1.2, 1))
        density[blurred] = gaussian_blur(density[blurred], [5, 5], [sigma, sigma])
    mask = out[:, 3:]
    if mask_edge_jitter:
        # Drawn only when asked for, so that a recipe without it keeps its random stream.
        mask = _edge_moved(mask, uniform(-mask_edge_jitter, mask_edge_jitter, n, 1, 1, 1))
    return torch.cat([density, mask], dim=1).contiguous(memory_format=torch.channels_last)


def _edge_moved(mask: torch.Tensor, move: torch.Tensor) -> torch.Tensor:
    """(B, 1, S, S) masks with their edge moved out (``move`` > 0) or in by ``|move|`` <= 1
    pixel: a blend with the mask grown or shrunk by one pixel (3 x 3 max / min filter)."""
    grown = F.max_pool2d(mask, 3, stride=1, padding=1)
    shrunk = -F.max_pool2d(-mask, 3, stride=1, padding=1)
    target = torch.where(move > 0, grown, shrunk)
    return mask + move.abs() * (target - mask)


def _sample_weights(dataset: np.ndarray, source: np.ndarray) -> torch.Tensor:
    """Weight ``count ** -SAMPLING_POWER`` of each object's (dataset, own label) group.

    Rebalancing by the datasets' own labels rather than by class also lifts the rare red-cell
    shapes that look most like fragments (teardrops, microcytes) against normal cells.
    """
    _, group, counts = np.unique(np.char.add(dataset, source), return_inverse=True,
                                 return_counts=True)
    return torch.from_numpy(counts[group].astype(float) ** -SAMPLING_POWER)


def _translated(batch: torch.Tensor, shift: float, generator: torch.Generator) -> torch.Tensor:
    """Each crop of ``batch`` moved by up to ``shift`` pixels along each axis (bilinear; the
    moves drawn from the CPU ``generator``)."""
    n, _, size, _ = batch.shape
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = theta[:, 1, 1] = 1
    theta[:, :, 2] = (torch.rand(n, 2, generator=generator) * 2 - 1) * shift * 2 / size
    grid = F.affine_grid(theta.to(batch.device), list(batch.shape), align_corners=False)
    moved = F.grid_sample(batch, grid, mode="bilinear", padding_mode="zeros",
                          align_corners=False)
    return moved.contiguous(memory_format=torch.channels_last)


def _loss(network: torch.nn.Module, crops: torch.Tensor, label: torch.Tensor,
          morphology: torch.Tensor, recipe: Recipe, generator: torch.Generator) -> torch.Tensor:
    """Cross-entropy of both heads on ``crops``, plus the recipe's shift-consistency term."""
    if recipe.shift_consistency:
        moved = _translated(crops, recipe.consistency_shift, generator)
        logits, shape_logits = network(torch.cat([crops, moved]))
        logits, moved_logits = logits.chunk(2)
        shape_logits = shape_logits[:len(crops)]
    else:
        logits, shape_logits = network(crops)
    loss = F.cross_entropy(logits, label, label_smoothing=recipe.label_smoothing)
    shaped = morphology >= 0
    if shaped.any():
        loss = loss + MORPHOLOGY_LOSS_WEIGHT * F.cross_entropy(shape_logits[shaped],
                                                               morphology[shaped])
    if recipe.shift_consistency:
        one, other = F.log_softmax(logits, 1), F.log_softmax(moved_logits, 1)
        divergence = (F.kl_div(one, other, log_target=True, reduction="batchmean")
                      + F.kl_div(other, one, log_target=True, reduction="batchmean")) / 2
        loss = loss + recipe.shift_consistency * divergence
    return loss


def fit_network(train: CropSet, *, epochs: int, seed: int, progress: bool = True,
                steps_per_epoch: int | None = None, recipe: Recipe = DEFAULT_RECIPE,
                rows: np.ndarray | None = None, device: str | torch.device = "cpu",
                start: torch.nn.Module | None = None,
                learning_rate: float = LEARNING_RATE) -> torch.nn.Module:
    """Train a fresh :class:`~smearscan.network.CellNet` on crops.

    Rebalanced sampling (:func:`_sample_weights`), AdamW with a one-cycle
    learning rate, cross-entropy on the class head plus ``MORPHOLOGY_LOSS_WEIGHT`` times the
    morphology cross-entropy on the Chula shapes; every batch through :func:`augmented`;
    size jitter and label smoothing from ``recipe``. ``rows`` (indices) restricts training to
    those rows without copying the crops (cross-validation folds share one copy). On another
    ``device`` (``"cuda"``) the crops and the network live there and the random draws stay on
    the CPU; the network is returned on the CPU. With ``start`` a copy of that network is
    trained further (fine-tuned) instead of a fresh one, at the peak ``learning_rate``.
    """
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    network = copy.deepcopy(start) if start is not None else build_network(DEFAULT_ARCHITECTURE)
    network = network.to(device, memory_format=torch.channels_last)
    rows = torch.from_numpy(np.arange(len(train.label)) if rows is None else np.asarray(rows))
    crops = torch.from_numpy(train.crops).to(device)
    chula = torch.from_numpy(train.dataset == "chula")
    label = torch.from_numpy(train.label).to(device)
    morphology = torch.from_numpy(train.morphology).to(device)
    weights = _sample_weights(train.dataset[rows.numpy()], train.source[rows.numpy()])
    steps = steps_per_epoch or max(1, len(rows) // BATCH_SIZE)
    optimiser = torch.optim.AdamW(network.parameters(), lr=learning_rate,
                                  weight_decay=WEIGHT_DECAY)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, learning_rate,
                                                   total_steps=epochs * steps)
    start = time.monotonic()
    for epoch in range(epochs):
        network.train()
        total = 0.0
        for _ in range(steps):
            index = rows[torch.multinomial(weights, BATCH_SIZE, replacement=True,
                                           generator=generator)]
            other_gain = ((chula[index], recipe.chula_channel_gain)
                          if recipe.chula_channel_gain else None)
            there = index.to(device)
            batch = augmented(crops[there].float(), CROP_SIZE, generator,
                              size_jitter=recipe.size_jitter, channel_gain=recipe.channel_gain,
                              other_gain=other_gain, mask_edge_jitter=recipe.mask_edge_jitter)
            loss = _loss(network, batch, label[there], morphology[there], recipe, generator)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            total += loss.item()
        if progress:
            print(f"epoch {epoch + 1}/{epochs}: loss {total / steps:.4f}, "
                  f"{time.monotonic() - start:.0f} s", file=sys.stderr, flush=True)
    return network.cpu().eval()
