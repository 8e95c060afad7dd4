#!/usr/bin/python3
"""Times the reference training step: the PyTorch baseline imlm-native's speed is compared with.

    /usr/bin/python3 scripts/reference/bench_step.py --config C.json --steps S --warmup W \
        [--threads T] [--device cpu|cuda] [--json]

The model, batch size (batchSize), image size (imageSize) and channels (inChannels) come from the
configuration. A few random batches are generated up front and cycled, so data generation is not
timed. W warm-up steps run first (allocator, cuDNN autotuning), then S timed steps.
On CUDA: precision bf16 → autocast bfloat16; fp16 → autocast float16 with a GradScaler;
channelsLast → model and inputs in channels_last; cudnnBenchmark → torch.backends.cudnn.benchmark.
Prints images/s (S·batchSize / seconds); --json prints one JSON line instead.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402

import config as config_lib  # noqa: E402
import state as state_lib  # noqa: E402
from moco_step import train_step  # noqa: E402

PREGENERATED_BATCHES = 4


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", required=True)
    parser.add_argument("--steps", type=int, required=True, help="timed steps")
    parser.add_argument("--warmup", type=int, required=True, help="untimed steps first")
    parser.add_argument("--threads", type=int, help="torch.set_num_threads (CPU)")
    parser.add_argument("--device", default=None,
                        help="cpu, cuda or cuda:N (default: the config's device; auto = cuda if "
                             "available)")
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    args = parser.parse_args(argv)
    if args.steps < 1 or args.warmup < 0:
        parser.error("--steps must be >= 1 and --warmup >= 0")

    try:
        cfg = config_lib.validate_run_fields(config_lib.load(args.config))
    except ValueError as exc:
        print(f"bench_step: {exc}", file=sys.stderr)
        return 1
    if args.threads:
        torch.set_num_threads(args.threads)
    device_spec = args.device or cfg.get("device", "cpu")
    if device_spec == "auto":
        device_spec = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(device_spec)
    on_cuda = device.type == "cuda"

    seed = int(cfg.get("seed", 0))
    run = state_lib.new_run(cfg, seed, device)
    memory_format = torch.contiguous_format
    if on_cuda:
        torch.backends.cudnn.benchmark = bool(cfg["cudnnBenchmark"])
    if cfg["channelsLast"]:  # on the CPU too: oneDNN convolutions are faster in NHWC
        memory_format = torch.channels_last
        run.model.to(memory_format=torch.channels_last)
    autocast_dtype, grad_scaler = None, None
    if on_cuda and cfg["precision"] == "bf16":
        autocast_dtype = torch.bfloat16
    elif on_cuda and cfg["precision"] == "fp16":
        autocast_dtype = torch.float16
        grad_scaler = torch.cuda.amp.GradScaler()

    # Pre-generated view pairs, cycled: N×C×H×W each, already on the device.
    data_generator = torch.Generator().manual_seed(seed + 1)
    shape = (cfg["batchSize"], cfg["inChannels"], cfg["imageSize"], cfg["imageSize"])
    batches = [tuple(torch.rand(shape, generator=data_generator).to(device)
                     .contiguous(memory_format=memory_format) for _ in range(2))
               for _ in range(PREGENERATED_BATCHES)]

    def one_step(i: int) -> None:
        q_img, k_img = batches[i % len(batches)]
        # No rollback snapshot: it would add a state copy per step that the trainer does not pay
        # on the fast path.
        train_step(run, q_img, k_img, autocast_dtype=autocast_dtype, grad_scaler=grad_scaler,
                   rollback_on_non_finite=False)

    for i in range(args.warmup):
        one_step(i)
    if on_cuda:
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
    # IMLM_PROFILE_TRACE (scripts/gpu-profile.sh): a Kineto trace of the timed steps, the same
    # profiler the addon uses, so the two traces compare kernel for kernel.
    trace_prefix = os.environ.get("IMLM_PROFILE_TRACE")
    profiler = None
    if trace_prefix:
        activities = [torch.profiler.ProfilerActivity.CPU]
        if on_cuda:
            activities.append(torch.profiler.ProfilerActivity.CUDA)
        profiler = torch.profiler.profile(activities=activities)
        profiler.__enter__()
    started = time.perf_counter()
    for i in range(args.steps):
        one_step(args.warmup + i)
    if on_cuda:
        torch.cuda.synchronize(device)
    seconds = time.perf_counter() - started
    if profiler is not None:
        profiler.__exit__(None, None, None)
        layout = "nhwc" if cfg["channelsLast"] else "nchw"
        profiler.export_chrome_trace(f"{trace_prefix}.reference-{layout}.json")

    images_per_second = args.steps * cfg["batchSize"] / seconds
    if args.json:
        print(json.dumps({
            "images_per_second": images_per_second,
            "seconds_per_step": seconds / args.steps,
            "threads": torch.get_num_threads(),
            "peak_allocated_bytes": torch.cuda.max_memory_allocated(device) if on_cuda else None,
            "torch": torch.__version__,
            "device": str(device) if not on_cuda else f"{device} ({torch.cuda.get_device_name(device)})",
        }))
    else:
        print(f"{images_per_second:.2f} images/s ({seconds / args.steps * 1000:.1f} ms/step, "
              f"{cfg['arch']} {cfg['stem']} {cfg['imageSize']}px batch {cfg['batchSize']}, "
              f"loss {cfg['intermediate']['loss']}, {device}, {torch.get_num_threads()} threads)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
