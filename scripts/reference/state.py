"""Converting a TrainingRun to and from the flat training-state tensors of docs/formats.md.

    <module state_dict() names>            encoder_q.*, encoder_k.*, queue, queue_ptr, p1..p4.*
    optimizer.momentum_buffer.<param>      one per trainable parameter that has a buffer
    step                                   int64 []
    rng.cpu                                uint8 [N], torch.Generator.get_state()
"""

from __future__ import annotations

import datetime
from typing import Any, Dict

import torch

import config as config_lib
from model import MoCo
from moco_step import TrainingRun, build_optimizer

MOMENTUM_PREFIX = "optimizer.momentum_buffer."
STATE_FORMAT = "imlm-native/train-state"
STATE_FORMAT_VERSION = "1"


class StateError(ValueError):
    """A training state that does not match the configuration (docs/formats.md ERR_FORMAT)."""


def run_to_tensors(run: TrainingRun) -> Dict[str, torch.Tensor]:
    """The flat state: CPU tensors, float32 weights, int64 counters."""
    tensors: Dict[str, torch.Tensor] = {
        name: tensor.detach().to("cpu").clone() for name, tensor in run.model.state_dict().items()
    }
    for name, param in run.model.trainable_named_parameters():
        buffer = run.optimizer.state.get(param, {}).get("momentum_buffer")
        if buffer is not None:
            tensors[MOMENTUM_PREFIX + name] = buffer.detach().to("cpu").clone()
    tensors["step"] = torch.tensor(run.step, dtype=torch.int64)  # shape []
    tensors["rng.cpu"] = run.generator.get_state().clone()     # uint8 [N]
    return tensors


def state_metadata(cfg: Dict[str, Any]) -> Dict[str, str]:
    """`__metadata__` of a training state written by the reference."""
    return {
        "format": STATE_FORMAT,
        "format_version": STATE_FORMAT_VERSION,
        "config": config_lib.to_json(cfg),
        "imlm_native_version": "python-reference",
        "libtorch_version": torch.__version__,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


def _describe(tensor: torch.Tensor) -> str:
    return f"{str(tensor.dtype).replace('torch.', '')} {list(tensor.shape)}"


def _check_tensor(name: str, found: torch.Tensor, expected: torch.Tensor, source: str) -> None:
    if found.dtype != expected.dtype or tuple(found.shape) != tuple(expected.shape):
        raise StateError(
            f"ERR_FORMAT: {source}: tensor '{name}' should be {_describe(expected)} for this "
            f"configuration, found {_describe(found)}. The state was written for another "
            "configuration; pass the configuration it was trained with.")
    if found.is_floating_point() and not torch.isfinite(found).all():
        raise StateError(f"ERR_FORMAT: {source}: tensor '{name}' holds NaN or ±Inf.")


def run_from_tensors(cfg: Dict[str, Any], tensors: Dict[str, torch.Tensor],
                     device: torch.device, source: str = "state") -> TrainingRun:
    """Builds a TrainingRun on `device` from flat state tensors.

    Every module tensor, `step` and `rng.cpu` must be present with the contract's dtype and
    shape. `optimizer.momentum_buffer.*` may be absent altogether (a fresh optimiser) or present
    for any subset of the trainable parameters (a parameter without one starts fresh, exactly as
    torch.optim.SGD does for a parameter that has not had a gradient yet). Unknown names are
    refused, since they mean the state and the configuration disagree.
    """
    config_lib.validate(cfg)
    model = MoCo(cfg)  # initial values are overwritten below; only the structure matters
    expected = model.state_dict()

    missing = [name for name in list(expected) + ["step", "rng.cpu"] if name not in tensors]
    if missing:
        shown = ", ".join(f"'{n}'" for n in missing[:8]) + (" ..." if len(missing) > 8 else "")
        raise StateError(
            f"ERR_FORMAT: {source}: missing tensor {shown} ({len(missing)} missing). The state "
            "lacks tensors this configuration needs (another arch, head or intermediate loss?).")

    trainable = dict(model.trainable_named_parameters())
    unknown = [name for name in tensors
               if name not in expected and name not in ("step", "rng.cpu")
               and not (name.startswith(MOMENTUM_PREFIX) and name[len(MOMENTUM_PREFIX):] in trainable)]
    if unknown:
        shown = ", ".join(f"'{n}'" for n in unknown[:8]) + (" ..." if len(unknown) > 8 else "")
        raise StateError(
            f"ERR_FORMAT: {source}: unexpected tensor {shown}: this configuration has no such "
            "tensor (momentum buffers must name a trainable parameter: encoder_q.* or p1..p4.*).")

    for name, expected_tensor in expected.items():
        _check_tensor(name, tensors[name], expected_tensor, source)
    model.load_state_dict({name: tensors[name] for name in expected}, strict=True)
    model.to(device)

    optimizer = build_optimizer(model, cfg)
    for name, param in trainable.items():
        key = MOMENTUM_PREFIX + name
        if key in tensors:
            _check_tensor(key, tensors[key], param.detach(), source)
            optimizer.state[param]["momentum_buffer"] = tensors[key].to(device).clone()

    step = tensors["step"]
    if step.dtype != torch.int64 or step.dim() != 0 or int(step) < 0:
        raise StateError(f"ERR_FORMAT: {source}: tensor 'step' should be a non-negative int64 "
                         f"scalar (shape []), found {_describe(step)}.")
    rng_state = tensors["rng.cpu"]
    generator = torch.Generator()
    reference_size = generator.get_state().numel()
    if rng_state.dtype != torch.uint8 or tuple(rng_state.shape) != (reference_size,):
        raise StateError(f"ERR_FORMAT: {source}: tensor 'rng.cpu' should be uint8 "
                         f"[{reference_size}] (torch.Generator.get_state()), found "
                         f"{_describe(rng_state)}.")
    generator.set_state(rng_state.clone())
    return TrainingRun(config=cfg, model=model, optimizer=optimizer, step=int(step),
                       generator=generator)


def new_run(cfg: Dict[str, Any], seed: int, device: torch.device) -> TrainingRun:
    """A run from scratch: weights from torch.manual_seed(seed) (the global generator is used
    only for initialisation, as torchvision's init functions draw from it), a fresh optimiser,
    step 0, and the trainer's generator seeded with the same seed."""
    config_lib.validate(cfg)
    torch.manual_seed(seed)
    model = MoCo(cfg).to(device)
    return TrainingRun(config=cfg, model=model, optimizer=build_optimizer(model, cfg), step=0,
                       generator=torch.Generator().manual_seed(seed))
