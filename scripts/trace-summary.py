#!/usr/bin/env python3
"""Where the time of a traced stretch went: GPU kernels summed by name, the GPU's busy time
against the wall span, and host-side CUDA runtime calls (memcpy, synchronize), from Chrome
trace files written by Kineto (our IMLM_PROFILE_TRACE and torch.profiler's export_chrome_trace).

  python3 scripts/trace-summary.py [--steps N] [--top K] TRACE.json[.gz] ...

Used by scripts/gpu-profile.sh; needs only the standard library.
"""
import argparse
import collections
import gzip
import json
import re


def load(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt") as f:
        data = json.load(f)
    return data["traceEvents"] if isinstance(data, dict) else data


def short(name, width=90):
    name = re.sub(r"\s+", " ", name)
    return name if len(name) <= width else name[: width - 1] + "…"


def summarise(path, steps, top):
    events = [e for e in load(path) if e.get("ph") == "X" and "dur" in e]
    kernels = [e for e in events if e.get("cat") in ("kernel", "gpu_memcpy", "gpu_memset")]
    runtime = [e for e in events if e.get("cat") in ("cuda_runtime", "cuda_driver")]
    ops = [e for e in events if e.get("cat") == "cpu_op"]
    if not events:
        return f"## {path}\n(no events)\n"
    t0 = min(e["ts"] for e in events)
    t1 = max(e["ts"] + e["dur"] for e in events)
    wall_ms = (t1 - t0) / 1e3
    busy_ms = sum(e["dur"] for e in kernels) / 1e3
    per = lambda x: x / steps  # noqa: E731
    lines = [f"## {path}",
             f"wall span {wall_ms:.1f} ms ({per(wall_ms):.2f} ms/step over {steps} steps); "
             f"GPU work {busy_ms:.1f} ms ({per(busy_ms):.2f} ms/step, {100 * busy_ms / max(wall_ms, 1e-9):.0f}% of the span); "
             f"{len(kernels)} GPU events ({per(len(kernels)):.0f}/step), {len(ops)} CPU ops ({per(len(ops)):.0f}/step)"]
    by_name = collections.defaultdict(lambda: [0.0, 0])
    for e in kernels:
        by_name[e["name"]][0] += e["dur"] / 1e3
        by_name[e["name"]][1] += 1
    lines.append(f"top {top} GPU events by total time (ms/step, count/step, name):")
    for name, (ms, n) in sorted(by_name.items(), key=lambda kv: -kv[1][0])[:top]:
        lines.append(f"  {per(ms):8.3f} {per(n):6.1f}  {short(name)}")
    rt = collections.defaultdict(lambda: [0.0, 0])
    for e in runtime:
        rt[e["name"]][0] += e["dur"] / 1e3
        rt[e["name"]][1] += 1
    lines.append("host CUDA calls by total time (ms/step, count/step):")
    for name, (ms, n) in sorted(rt.items(), key=lambda kv: -kv[1][0])[:8]:
        lines.append(f"  {per(ms):8.3f} {per(n):6.1f}  {name}")
    top_ops = collections.defaultdict(lambda: [0.0, 0])
    for e in ops:
        top_ops[e["name"]][0] += e["dur"] / 1e3
        top_ops[e["name"]][1] += 1
    lines.append("CPU ops by count/step (count/step, host ms/step incl. children):")
    for name, (ms, n) in sorted(top_ops.items(), key=lambda kv: -kv[1][1])[:12]:
        lines.append(f"  {per(n):7.1f} {per(ms):8.3f}  {name}")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=1, help="steps in each trace (for per-step figures)")
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("traces", nargs="+")
    args = parser.parse_args()
    for path in args.traces:
        try:
            print(summarise(path, args.steps, args.top))
        except (OSError, ValueError, KeyError) as e:
            print(f"## {path}\n(unreadable: {e})\n")


if __name__ == "__main__":
    main()
