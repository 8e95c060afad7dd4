#!/usr/bin/python3
"""Replays S training steps from a state on given view pairs; the reference for
`imlm-native replay` (docs/formats.md, "Replay files").

    /usr/bin/python3 scripts/reference/replay.py --config C.json --state S.safetensors \
        --batches B.safetensors --out O.safetensors [--device cpu]

Writes `loss`, `loss_infonce` F32 [S], `loss_blocks` F32 [S, 4] (zeros for `none`),
`logits_top1` F32 [S], and the final training state under the contract's names.
Without --config, the `config` metadata of the state is used.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402

import config as config_lib  # noqa: E402
import safetensors_io  # noqa: E402
import state as state_lib  # noqa: E402
from moco_step import NonFiniteLossError, train_step  # noqa: E402

REPLAY_FORMAT = "imlm-native/replay-output"
METRIC_NAMES = ("loss", "loss_infonce", "loss_blocks", "logits_top1")


def make_deterministic(device: torch.device) -> None:
    """Deterministic kernels. On the CPU every op of a step has one, so this is strict. On CUDA
    adaptive_avg_pool2d's backward has no deterministic kernel: warn instead of failing."""
    if device.type == "cuda":
        # cuBLAS needs a fixed workspace for reproducible GEMMs; must be set before CUDA starts.
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True
        torch.use_deterministic_algorithms(True, warn_only=True)
    else:
        torch.use_deterministic_algorithms(True)


def load_batches(path: str, cfg) -> tuple:
    """q, k: float32 [S, N, C, H, W] with C = inChannels."""
    tensors, _ = safetensors_io.load(path)
    for name in ("q", "k"):
        if name not in tensors:
            raise ValueError(f"{path}: missing tensor '{name}' (expected float32 [S, N, C, H, W]; "
                             "scripts/reference/make_batches.py writes such a file)")
    q, k = tensors["q"], tensors["k"]
    for name, tensor in (("q", q), ("k", k)):
        if tensor.dtype != torch.float32 or tensor.dim() != 5:
            raise ValueError(f"{path}: tensor '{name}' should be float32 [S, N, C, H, W], found "
                             f"{tensor.dtype} {list(tensor.shape)}")
    if q.shape != k.shape:
        raise ValueError(f"{path}: 'q' is {list(q.shape)} but 'k' is {list(k.shape)}; the two "
                         "views of a step must have the same shape")
    if q.shape[2] != cfg["inChannels"]:
        raise ValueError(f"{path}: the views have {q.shape[2]} channels but the configuration's "
                         f"inChannels is {cfg['inChannels']}")
    return q, k


def replay(cfg, state_tensors, q_steps, k_steps, device: torch.device, log=None,
           source: str = "--state"):
    """Runs the steps; returns (per-step metrics as tensors, final state tensors)."""
    run = state_lib.run_from_tensors(cfg, state_tensors, device, source=source)
    num_steps = q_steps.shape[0]
    loss = torch.zeros(num_steps, dtype=torch.float32)
    loss_infonce = torch.zeros(num_steps, dtype=torch.float32)
    loss_blocks = torch.zeros(num_steps, 4, dtype=torch.float32)
    logits_top1 = torch.zeros(num_steps, dtype=torch.float32)

    autocast_dtype, grad_scaler = None, None
    if device.type == "cuda" and cfg.get("precision", "fp32") != "fp32":
        # The contract's precision applies on CUDA only (autocast; fp16 with a gradient scaler).
        autocast_dtype = torch.bfloat16 if cfg["precision"] == "bf16" else torch.float16
        if cfg["precision"] == "fp16":
            grad_scaler = torch.cuda.amp.GradScaler()

    for s in range(num_steps):
        result = train_step(run, q_steps[s].to(device), k_steps[s].to(device),
                            autocast_dtype=autocast_dtype, grad_scaler=grad_scaler)
        loss[s] = result["loss"]
        loss_infonce[s] = result["loss_infonce"]
        loss_blocks[s] = torch.tensor(result["loss_blocks"], dtype=torch.float32)
        logits_top1[s] = result["logits_top1"]
        if log is not None:
            log(f"step {run.step}: loss {result['loss']:.6f} infonce {result['loss_infonce']:.6f} "
                f"blocks {[round(b, 6) for b in result['loss_blocks']]} "
                f"top1 {result['logits_top1']:.3f} lr {result['lr']:.6g}")
    metrics = {"loss": loss, "loss_infonce": loss_infonce, "loss_blocks": loss_blocks,
               "logits_top1": logits_top1}
    return metrics, state_lib.run_to_tensors(run)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", help="configuration JSON (default: the state's metadata)")
    parser.add_argument("--state", required=True, help="training state .safetensors")
    parser.add_argument("--batches", required=True, help="view pairs q, k [S,N,C,H,W]")
    parser.add_argument("--out", required=True, help="output .safetensors")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default cpu)")
    parser.add_argument("--quiet", action="store_true", help="no per-step log on stderr")
    args = parser.parse_args(argv)

    device = torch.device(args.device)
    make_deterministic(device)
    try:
        state_tensors, state_meta = safetensors_io.load(args.state)
        if state_meta.get("format") == REPLAY_FORMAT:
            # A previous replay's output: its final state continues from where it stopped.
            state_tensors = {name: tensor for name, tensor in state_tensors.items()
                             if name not in METRIC_NAMES}
        cfg = (config_lib.load(args.config) if args.config
               else config_lib.from_metadata(state_meta, args.state))
        q_steps, k_steps = load_batches(args.batches, cfg)
        started = time.perf_counter()
        log = None if args.quiet else (lambda line: print(line, file=sys.stderr))
        metrics, final_state = replay(cfg, state_tensors, q_steps, k_steps, device, log,
                                      source=args.state)
    except (ValueError, NonFiniteLossError) as exc:
        # ConfigError, StateError and SafetensorsFormatError are ValueErrors with full messages.
        print(f"replay: {exc}", file=sys.stderr)
        return 1

    out = dict(final_state)
    out.update(metrics)
    safetensors_io.save(args.out, out, {
        "format": REPLAY_FORMAT,
        "format_version": "1",
        "config": config_lib.to_json(cfg),
        "producer": "scripts/reference/replay.py",
        "torch_version": torch.__version__,
        "device": str(device),
    })
    if not args.quiet:
        print(f"replay: {q_steps.shape[0]} steps in {time.perf_counter() - started:.1f}s -> "
              f"{args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
