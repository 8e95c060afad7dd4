"""One MoCo v2 + intermediate-loss training step, exactly as docs/formats.md "One training step".

Order of operations (the numerics contract):
  1. q, (q1..q4) = encoder_q(q_img); q = normalize(q)
  2. no grad: momentum update of encoder_k's parameters with m_t; k, (k1..k4) = encoder_k(k_img)
     in train mode (shuffle-BN emulation when shuffleGroups > 1); k = normalize(k)
  3. InfoNCE against a snapshot of the queue taken before this step's enqueue
  4. enqueue k with wrap-around
  5. block terms (mse or barlow), key side without gradient
  6. loss = loss_infonce + L1 + L2 + L3 + L4; backward; optional clipping; SGD with lr_t
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F

import schedules
from model import BlockFeatures, MoCo


class NonFiniteLossError(RuntimeError):
    """docs/formats.md ERR_NON_FINITE: the loss was NaN or ±Inf; nothing was applied."""


@dataclass
class TrainingRun:
    """Everything one training step reads and changes."""

    config: Dict[str, Any]
    model: MoCo
    optimizer: torch.optim.SGD
    step: int                   # optimiser steps completed (t of the schedules)
    generator: torch.Generator  # the trainer's CPU generator (shuffle-BN permutations)


def build_optimizer(model: MoCo, cfg: Dict[str, Any]) -> torch.optim.SGD:
    """torch.optim.SGD over encoder_q's and the projectors' parameters, in named_parameters()
    order. Weight decay applies to every parameter (BN and biases included), as in the paper.
    The lr given here is a placeholder: train_step sets lr_t on the group before every step."""
    opt = cfg["optimizer"]
    params = [p for _, p in model.trainable_named_parameters()]
    # foreach=False: the plain per-tensor loop, the easiest to mirror in C++ (same arithmetic).
    return torch.optim.SGD(params, lr=float(opt["lr"]), momentum=float(opt["momentum"]),
                           weight_decay=float(opt["weightDecay"]), nesterov=bool(opt["nesterov"]),
                           foreach=False)


# --------------------------------------------------------------------------------------------
# The pieces of a step (pure functions, so the tests can check them on tiny tensors)
# --------------------------------------------------------------------------------------------


@torch.no_grad()
def momentum_update_key_encoder(model: MoCo, m: float) -> None:
    """p_k = m·p_k + (1 − m)·p_q for every *parameter*; BN buffers of encoder_k are not copied
    (they evolve through encoder_k's own train-mode forwards). Computed as the reference repo
    does, out of place: (p_k * m) + (p_q * (1 - m)), with 1 - m taken in double."""
    for param_q, param_k in zip(model.encoder_q.parameters(), model.encoder_k.parameters()):
        param_k.copy_(param_k * m + param_q * (1.0 - m))


def run_key_encoder(encoder_k, k_img: torch.Tensor, groups: int,
                    generator: torch.Generator) -> Tuple[torch.Tensor, BlockFeatures]:
    """encoder_k(k_img), with single-device shuffle-BN emulation when groups > 1.

    groups > 1: perm = randperm(N) from the trainer's generator (drawn on the CPU, so the draw is
    the same whatever the device); the permuted batch runs through the encoder as `groups` equal
    sub-batches in torch.chunk order (each BN sees its own batch statistics, and the running
    statistics are updated once per sub-batch, in order); the outputs are concatenated and the
    embedding and every block feature are put back in the original order with the inverse
    permutation. groups == 1 draws nothing from the generator.
    """
    if groups == 1:
        return encoder_k(k_img)
    batch_size = k_img.shape[0]
    if batch_size % groups != 0:
        raise ValueError(
            f"shuffleGroups = {groups} needs a batch size divisible by it, received a batch of "
            f"{batch_size}. Change batchSize or shuffleGroups so that one divides the other.")
    perm = torch.randperm(batch_size, generator=generator).to(k_img.device)  # N
    inverse = torch.argsort(perm)                                            # N
    outputs = [encoder_k(chunk) for chunk in torch.chunk(k_img[perm], groups)]
    embedding = torch.cat([out[0] for out in outputs])[inverse]              # N×D
    blocks = tuple(torch.cat([out[1][i] for out in outputs])[inverse] for i in range(4))
    return embedding, blocks


def info_nce(q: torch.Tensor, k: torch.Tensor, queue: torch.Tensor,
             temperature: float) -> Tuple[torch.Tensor, torch.Tensor]:
    """(loss, logits) of MoCo's InfoNCE. q, k: N×D (L2-normalised), queue: D×K.

    logits = cat(l_pos, l_neg) / T is N×(1+K); the positive is column 0 of every row."""
    l_pos = (q * k).sum(dim=1, keepdim=True)  # N×1
    l_neg = q @ queue                          # N×K
    logits = torch.cat([l_pos, l_neg], dim=1) / temperature
    labels = torch.zeros(q.shape[0], dtype=torch.long, device=q.device)
    return F.cross_entropy(logits, labels), logits


def top_k_fraction(logits: torch.Tensor, k: int) -> float:
    """Fraction of rows whose column 0 (the positive) is among the k largest logits.
    k = 1 is the arg-max (ties go to the lowest index, so an exact tie counts as a hit)."""
    if k == 1:
        hits = logits.argmax(dim=1) == 0
    else:
        top = logits.topk(min(k, logits.shape[1]), dim=1).indices
        hits = (top == 0).any(dim=1)
    return hits.float().mean().item()


@torch.no_grad()
def enqueue(queue: torch.Tensor, queue_ptr: torch.Tensor, keys: torch.Tensor) -> None:
    """queue[:, (ptr + j) mod K] = keys[j] for j < N, then ptr = (ptr + N) mod K.

    Works for any N: it wraps around the end of the queue, and when N > K the result is that of
    writing the keys one after the other, i.e. only the last K keys remain, at their columns.
    queue: D×K, queue_ptr: int64 [1], keys: N×D."""
    queue_size = queue.shape[1]
    batch_size = keys.shape[0]
    ptr = int(queue_ptr[0])
    columns = (ptr + torch.arange(batch_size)) % queue_size  # N
    if batch_size > queue_size:
        keys, columns = keys[-queue_size:], columns[-queue_size:]
    queue[:, columns.to(queue.device)] = keys.T.to(queue.dtype)
    queue_ptr[0] = (ptr + batch_size) % queue_size


def mse_block_loss(q_block: torch.Tensor, k_block: torch.Tensor, pool_size: int,
                   weight: float) -> torch.Tensor:
    """λ_i · mean((pool(q_i) − pool(k_i))²), pool = adaptive_avg_pool2d(·, pool_size).
    q_block, k_block: N×C×H×W; the mean runs over all N·C·s·s elements."""
    pooled_q = F.adaptive_avg_pool2d(q_block, pool_size)  # N×C×s×s
    pooled_k = F.adaptive_avg_pool2d(k_block, pool_size)  # N×C×s×s
    return weight * (pooled_q - pooled_k).pow(2).mean()


def off_diagonal(matrix: torch.Tensor) -> torch.Tensor:
    """The off-diagonal elements of a square n×n matrix, flattened (n² − n), in row-major order
    (the Barlow Twins reference's trick)."""
    n, m = matrix.shape
    assert n == m, f"off_diagonal needs a square matrix, received {n}×{m}"
    return matrix.flatten()[:-1].view(n - 1, n + 1)[:, 1:].flatten()


def barlow_loss_from_cross_correlation(c: torch.Tensor, lambd: float, scale: float,
                                       weighting: str) -> torch.Tensor:
    """on = Σ_j (c_jj − 1)²·scale, off = Σ_{j≠l} c_jl²·scale; then
    kaku2021: λ·(on + off)      original: on + λ·off.    c: h3×h3."""
    on = (torch.diagonal(c) - 1).pow(2).sum() * scale
    off = off_diagonal(c).pow(2).sum() * scale
    if weighting == "kaku2021":
        return lambd * on + lambd * off  # as the paper's Projection.forward writes it
    if weighting == "original":
        return on + lambd * off
    raise ValueError(f"intermediate.barlow.weighting: expected 'kaku2021' or 'original', "
                     f"received {weighting!r}")


def global_average_pool(block: torch.Tensor) -> torch.Tensor:
    """N×C×H×W → N×C, via adaptive_avg_pool2d(·, 1) as the reference's resnet_new_bt does."""
    return F.adaptive_avg_pool2d(block, 1).flatten(1)


def block_losses(model: MoCo, cfg: Dict[str, Any], q_blocks: Sequence[torch.Tensor],
                 k_blocks: Sequence[torch.Tensor]) -> List[Optional[torch.Tensor]]:
    """L_1..L_4 (None for each when the loss is `none`). k_blocks carry no gradient."""
    intermediate = cfg["intermediate"]
    kind = intermediate["loss"]
    if kind == "none":
        return [None, None, None, None]
    if kind == "mse":
        mse = intermediate["mse"]
        return [mse_block_loss(q_i, k_i, int(size), float(weight))
                for q_i, k_i, size, weight in zip(q_blocks, k_blocks, mse["poolSizes"],
                                                  mse["weights"])]
    barlow = intermediate["barlow"]
    losses = []
    for projection, q_i, k_i in zip(model.projections(), q_blocks, k_blocks):
        c = projection(global_average_pool(q_i), global_average_pool(k_i))  # h3×h3
        losses.append(barlow_loss_from_cross_correlation(
            c, float(barlow["lambda"]), float(barlow["scale"]), barlow["weighting"]))
    return losses


# --------------------------------------------------------------------------------------------
# The step
# --------------------------------------------------------------------------------------------


def _autocast(device: torch.device, dtype: Optional[torch.dtype]):
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


def train_step(run: TrainingRun, q_img: torch.Tensor, k_img: torch.Tensor, *,
               autocast_dtype: Optional[torch.dtype] = None,
               grad_scaler: Optional["torch.cuda.amp.GradScaler"] = None,
               rollback_on_non_finite: bool = True) -> Dict[str, Any]:
    """Runs one step on q_img, k_img (N×C×H×W float32, on the model's device) and returns
    {loss, loss_infonce, loss_blocks (4 floats, zeros for `none`), logits_top1, logits_top5,
    lr, key_momentum} as Python floats. Advances run.step by one.

    autocast_dtype (CUDA bf16/fp16 only): the encoder forwards run under autocast; the
    embeddings and block features are cast back to float32 before any loss arithmetic, so the
    queue, the logits, the MSE terms and the projectors stay in float32.
    grad_scaler: fp16's dynamic loss scaling.
    rollback_on_non_finite: when the loss is NaN/Inf, restore the module state (BN statistics,
    encoder_k, queue) and the generator as they were before the step, then raise
    NonFiniteLossError — "nothing applied", as the contract asks. Costs one copy of the state.
    """
    cfg, model, optimizer, generator = run.config, run.model, run.optimizer, run.generator
    t = run.step
    lr_t = schedules.learning_rate(t, cfg)
    m_t = schedules.key_momentum(t, cfg)
    device = q_img.device

    snapshot = None
    if rollback_on_non_finite:
        snapshot = ({name: tensor.detach().clone() for name, tensor in model.state_dict().items()},
                    generator.get_state())

    model.train()  # both encoders in train mode: the key encoder uses batch statistics
    optimizer.zero_grad(set_to_none=True)

    # 1. queries, with gradient
    with _autocast(device, autocast_dtype):
        q, q_blocks = model.encoder_q(q_img)
    q = F.normalize(q.float(), dim=1)              # N×D
    q_blocks = [block.float() for block in q_blocks]

    # 2. keys, without gradient
    with torch.no_grad():
        momentum_update_key_encoder(model, m_t)
        with _autocast(device, autocast_dtype):
            k, k_blocks = run_key_encoder(model.encoder_k, k_img, int(cfg["shuffleGroups"]),
                                          generator)
        k = F.normalize(k.float(), dim=1)          # N×D
        k_blocks = [block.float() for block in k_blocks]

    # 3. InfoNCE against the queue as it was before this step's keys go in. The clone matters:
    # enqueue writes the buffer in place, and autograd saved the queue for d(l_neg)/dq.
    queue_snapshot = model.queue.clone()           # D×K
    loss_infonce, logits = info_nce(q, k, queue_snapshot, float(cfg["temperature"]))

    # 4. enqueue this step's keys
    enqueue(model.queue, model.queue_ptr, k)

    # 5. block terms
    blocks = block_losses(model, cfg, q_blocks, k_blocks)

    # 6. total, then the update
    loss = loss_infonce
    for block_loss in blocks:
        if block_loss is not None:
            loss = loss + block_loss

    loss_value = loss.item()
    if not math.isfinite(loss_value):
        if snapshot is not None:
            model.load_state_dict(snapshot[0])
            generator.set_state(snapshot[1])
        raise NonFiniteLossError(
            f"ERR_NON_FINITE: step {t}: the loss is {loss_value} (InfoNCE "
            f"{loss_infonce.item()}, blocks "
            f"{[None if b is None else b.item() for b in blocks]}); the step was not applied. "
            "Lower the learning rate, enable optimizer.gradClip, or check the input batch.")

    for group in optimizer.param_groups:
        group["lr"] = lr_t
    trainable = [p for group in optimizer.param_groups for p in group["params"]]
    grad_clip = float(cfg["optimizer"]["gradClip"])
    if grad_scaler is not None:
        grad_scaler.scale(loss).backward()
        if grad_clip > 0:
            grad_scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(trainable, grad_clip)
        grad_scaler.step(optimizer)
        grad_scaler.update()
    else:
        loss.backward()
        if grad_clip > 0:
            # Global L2 norm over all gradients; coefficient max_norm / (norm + 1e-6), clamped to 1.
            torch.nn.utils.clip_grad_norm_(trainable, grad_clip)
        optimizer.step()
    run.step = t + 1

    logits = logits.detach()
    return {
        "loss": loss_value,
        "loss_infonce": loss_infonce.item(),
        "loss_blocks": [0.0 if b is None else b.item() for b in blocks],
        "logits_top1": top_k_fraction(logits, 1),
        "logits_top5": top_k_fraction(logits, 5),
        "lr": lr_t,
        "key_momentum": m_t,
    }
