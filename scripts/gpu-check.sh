#!/usr/bin/env bash
# The CUDA check (docs/benchmarks.md, "GPU check"): on a CUDA server with PyTorch but no
# Node.js and no network, in a copy of the working tree plus .device/ (made here first by
# `bash scripts/prepare-device.sh`):
#
#   bash scripts/gpu-check.sh
#
#   1. unpacks .device/node.xz and puts it first on PATH; copies .device/dist and
#      .device/node_modules to ./dist and ./node_modules where those are missing;
#   2. builds the addon with CMakeLists.txt (no cmake-js) against PyTorch's CUDA LibTorch, into
#      build-gpu/imlm.node, on all cores; IMLM_ADDON_PATH points every later step at it;
#   3. `imlm-native info --json` and `doctor`;
#   4. parity with the Python reference on CUDA (ResNet-18 and ResNet-50; mse, barlow, none),
#      the six cases in parallel, together with a short `imlm-native train --device cuda` run;
#   4b. a 1-rank distributed training through c10d (NCCL on CUDA, Gloo in a dry run), started with
#      torchrun's variables and --dist-backend, so the process group, the gradient all-reduce
#      and the gathered enqueue run on the device (docs/distributed.md);
#   5. benchmarks, ours against the reference on the same GPU (scripts/bench/step.js): ResNet-50
#      224² b256 bf16 first (also end to end from a store), then ResNet-18; the reference also
#      as published (fp32, NCHW); both sides' peak device memory; a Kineto profile of one case
#      (5b, GPU_CHECK_PROFILE=0 skips it); the host feed alone (5c); more cases when time is left;
#   6. $OUT/gpu-report.md with every figure, raw logs beside it; prints the short table last.
#
# Exits 1 when the build or a parity case failed, else 0 (other failures are in the report).
#
# Environment:
#   OUT                   result folder (default ./gpu-out); at most 8 files are written there
#   PYTHON                Python with torch and torchvision (default python3)
#   TORCH_DIR_OVERRIDE    a folder holding TorchConfig.cmake, instead of PyTorch's
#   GPU_CHECK_ADDON       an already built imlm.node to use: skips the build
#   GPU_CHECK_ONLY=build  stop after the build, info and doctor (scripts/gpu-profile.sh uses it)
#   GPU_CHECK_DRY=1       a rehearsal without a GPU: everything on the CPU, tiny sizes
#   GPU_CHECK_DEADLINE_S  the whole script's time budget in seconds (default 540); steps that
#                         would not fit are skipped and reported as such
#   GPU_CHECK_BUILD_TIMEOUT_S  the compile step's limit in seconds (default 480)
#   GPU_CHECK_BENCH       ';'-separated benchmark cases "arch stem size batch precision", or none
#   GPU_CHECK_BENCH_EXTRA cases run only while more than 150 s of the budget are left
#   GPU_CHECK_PARITY_JOBS parity cases run at once (default: all)
#   GPU_CHECK_LOSS_TOL, GPU_CHECK_STATE_TOL  parity tolerances (default 2e-3 and 2e-2 on CUDA,
#                         1e-4 and 1e-3 in a dry run)
set -uo pipefail

T0=$(date +%s)
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root" || exit 1
OUT="${OUT:-./gpu-out}"
mkdir -p "$OUT" || exit 1
OUT="$(cd "$OUT" && pwd)"
PYTHON="${PYTHON:-python3}"
DRY="${GPU_CHECK_DRY:-0}"
DEADLINE="${GPU_CHECK_DEADLINE_S:-540}"
JOBS="$(nproc 2>/dev/null || echo 4)"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/imlm-gpu-check.XXXXXX")" || exit 1
RES="$WORK/results"
mkdir -p "$RES" "$WORK/bin"
trap 'rm -rf "$WORK"' EXIT

# The result files (8 at most).
REPORT="$OUT/gpu-report.md"
BUILD_LOG="$OUT/build.log"
INFO_JSON="$OUT/info.json"
PARITY_LOG="$OUT/parity.log"
BENCH_LOG="$OUT/bench.log"
TRAIN_LOG="$OUT/train.log"
SMI_TXT="$OUT/nvidia-smi.txt"
ENV_TXT="$OUT/env.txt"
: > "$ENV_TXT"

if [ "$DRY" = 1 ]; then DEVICE=cpu; else DEVICE=cuda; fi
BUILD_FAILED=0
PARITY_FAILED=0

log() { printf '[gpu-check %4ds] %s\n' "$(( $(date +%s) - T0 ))" "$*" >&2; }
meta() { printf '%s\t%s\n' "$1" "$2" >> "$RES/meta.tsv"; }
# record STEP STATUS SECONDS NOTE: one row of the report's step table.
record() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "${4:-}" >> "$RES/steps.tsv"; log "$1: $2 (${3}s) ${4:-}"; }
left() { echo $(( DEADLINE - ($(date +%s) - T0) )); }
# budget WANTED [RESERVE]: WANTED seconds, or what is left of the deadline minus RESERVE (20 s
# for the report) when that is less.
budget() {
  local l=$(( $(left) - ${2:-20} ))
  if [ "$l" -lt "$1" ]; then echo "$l"; else echo "$1"; fi
}
# status_of RC: ok, timeout or failed (exit RC).
status_of() {
  case "$1" in
    0) echo ok ;;
    124|137) echo timeout ;;
    *) echo "failed (exit $1)" ;;
  esac
}
# err_note FILE: the line of a log that best says what went wrong (for the step table).
err_note() {
  local line
  line="$(grep -E 'ERR_[A-Z_]+|Error:|error:|Error |failed' "$1" 2>/dev/null |
    grep -vE '^Error: [^ ]+ failed \(exit|^[[:space:]]+at |throw new Error' | tail -n 1)"
  [ -n "$line" ] || line="$(grep -v '^[[:space:]]*$' "$1" 2>/dev/null | tail -n 1)"
  printf '%s' "$line" | tr '|' '/' | cut -c1-160
}
# Runs a command under a time limit; its output goes to stdout/stderr as redirected by the caller.
limited() {
  local seconds="$1"; shift
  timeout --kill-after=10 "$seconds" "$@"
}

write_report() {
  [ -n "${PY_OK:-}" ] || return 0
  "$PYTHON" - "$RES" "$OUT" "$@" <<'PYEOF'
import json, os, sys

res, out = sys.argv[1], sys.argv[2]
short = "--short" in sys.argv[3:]

def read(path, default=""):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return default

def last_json(text):
    try:
        return json.loads(text)
    except ValueError:
        pass
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                pass
    return None

meta = {}
for line in read(os.path.join(res, "meta.tsv")).splitlines():
    k, _, v = line.partition("\t")
    meta[k] = v
steps = [line.split("\t") for line in read(os.path.join(res, "steps.tsv")).splitlines() if line]
info = last_json(read(os.path.join(out, "info.json")))

def sci(x):
    return "–" if x is None else f"{x:.2e}"

def cases(prefix):
    rows = []
    names = sorted(n for n in os.listdir(res) if n.startswith(prefix) and n.endswith(".case"))
    for name in names:
        base = os.path.join(res, name[: -len(".case")])
        rows.append({
            "case": read(base + ".case").strip(),
            "rc": read(base + ".rc").strip(),
            "seconds": read(base + ".sec").strip(),
            "json": last_json(read(base + ".out")),
        })
    return rows

parity = cases("parity-")
bench = cases("bench-")
gib = lambda b: "–" if b is None else f"{b / 2**30:.2f}"  # noqa: E731
ratio = lambda x: "–" if x is None else f"{x:.2f}×"  # noqa: E731
train = last_json(read(os.path.join(res, "train.out")))

L = []
if short:
    L.append("| step | status | s | note |")
    L.append("|---|---|---|---|")
    for s in steps:
        s = (s + ["", "", "", ""])[:4]
        L.append(f"| {s[0]} | {s[1]} | {s[2]} | {s[3]} |")
    if parity:
        ok = sum(1 for p in parity if p["json"] and p["json"].get("pass"))
        L.append("")
        L.append(f"parity: {ok}/{len(parity)} cases pass")
    if bench:
        L.append("")
        L.append("| benchmark | ours img/s | reference img/s | ratio | vs published | peak GiB ours / ref |")
        L.append("|---|---|---|---|---|---|")
        for b in bench:
            j = b["json"]
            if j and j.get("rows"):
                r = j["rows"][0]
                L.append(f"| {b['case']} | {r['ours']:.0f} | {r['referenceSame']:.0f} | {r['ratioSame']:.2f}× | "
                         f"{ratio(r.get('ratioPublished'))} | {gib(r.get('oursPeakBytes'))} / {gib(r.get('referencePeakBytes'))} |")
            else:
                L.append(f"| {b['case']} | {'timed out' if b['rc'] in ('124', '137') else 'failed'} | | | | |")
    print("\n".join(L))
    sys.exit(0)

L.append(f"# imlm-native GPU check — {meta.get('date', '')}")
L.append("")
L.append(f"Mode: {'DRY RUN on the CPU (GPU_CHECK_DRY=1): no CUDA figures' if meta.get('dry') == '1' else 'CUDA'}.")
L.append("")
L.append("## Machine and versions")
L.append("")
L.append("| what | value |")
L.append("|---|---|")
dev = None
if info and info.get("cuda", {}).get("devices"):
    dev = info["cuda"]["devices"][0]
rows = [
    ("GPU (nvidia-smi)", meta.get("gpu", "–")),
    ("GPU (as the addon sees it)", f"{dev['name']}, {dev['totalMemoryBytes'] / 2**30:.1f} GiB, compute capability {dev['computeCapability']}" if dev else "–"),
    ("NVIDIA driver", meta.get("driver", "–")),
    ("CUDA (driver supports)", meta.get("driver_cuda", "–")),
    ("CUDA toolkit (nvcc)", meta.get("nvcc", "–")),
    ("PyTorch", meta.get("torch", "–")),
    ("PyTorch's CUDA / cuDNN", f"{meta.get('torch_cuda') or '–'} / {meta.get('torch_cudnn') or '–'}"),
    ("LibTorch in the addon", f"{info['libtorch']['version']} (headers {info['libtorch']['headerVersion']}, CUDA build: {info['libtorch']['builtWithCuda']}), cuDNN {info['cuda'].get('cudnnVersion')}" if info else "–"),
    ("CUDA usable by the addon", (("yes" if info["cuda"]["available"] else f"no: {info['cuda'].get('reason')}") if info else "–")),
    ("imlm-native", meta.get("package", "–") + (f" (git {meta['git']})" if meta.get("git") else "")),
    ("Node.js", meta.get("node", "–")),
    ("Python", meta.get("python", "–")),
    ("CMake / compiler", f"{meta.get('cmake', '–')} / {meta.get('cxx', '–')}"),
    ("CPU cores", meta.get("cores", "–")),
    ("Build (configure + compile)", f"{meta.get('build_seconds', '–')} s, {meta.get('build_status', '–')}"),
    ("Whole check", f"{meta.get('total_seconds', '–')} s"),
]
for k, v in rows:
    L.append(f"| {k} | {v} |")
L.append("")
L.append("## Steps")
L.append("")
L.append("| step | status | seconds | note |")
L.append("|---|---|---|---|")
for s in steps:
    s = (s + ["", "", "", ""])[:4]
    L.append(f"| {s[0]} | {s[1]} | {s[2]} | {s[3]} |")

L.append("")
L.append("## Parity with the Python reference")
L.append("")
if not parity:
    L.append("Not run (see Steps).")
elif meta.get("dry") == "1":
    L.append(f"On the CPU (dry run): loss components within {meta.get('loss_tol')} relative, final weights within {meta.get('state_tol')}.")
else:
    L.append(
        "Both sides on the GPU (`scripts/parity/run.js --device cuda`: our `imlm-native replay` and "
        "`scripts/reference/replay.py --device cuda` replay 3 steps from the same state on the same "
        f"views), fp32. Tolerances: loss components {meta.get('loss_tol')} relative, final weights "
        f"{meta.get('state_tol')} relative to each tensor's scale — looser than the CPU ones (1e-4 / 1e-3) because the two "
        "processes need not get the same cuDNN algorithms (the reference asks for deterministic "
        "ones; either side's choice may differ from the other's and sums in another order). Both run "
        "with NVIDIA_TF32_OVERRIDE=0, in plain fp32: with TF32 (cuDNN's default in PyTorch and "
        "LibTorch) the 10-bit mantissa's rounding, carried by three SGD steps into zero-initialised "
        "BN weights, exceeded the tolerance in the first H200 run. The 'component' column names the loss term with the worst error "
        "(`logits_top1` is a fraction of the batch: one flipped ranking among 8 moves it by 1/8).")
if parity:
    L.append("")
    L.append("| case | worst loss rel. error (component) | worst weight error (tensor) | worst momentum buffer | pass | s ours / ref |")
    L.append("|---|---|---|---|---|---|")
for p in parity:
    j = p["json"]
    if not j:
        status = "timed out" if p["rc"] in ("124", "137") else f"error (exit {p['rc']}), see parity.log"
        L.append(f"| {p['case']} | – | – | – | **{status}** | – |")
        continue
    losses = (j.get("report") or {}).get("losses") or {}
    comp = max(losses, key=losses.get) if losses else "?"
    ww = j.get("worstWeight") or {}
    wo = j.get("worstOptimizer") or {}
    secs = j.get("seconds") or {}
    L.append(
        f"| {p['case']} | {sci(j.get('worstLoss'))} ({comp}) | {sci(ww.get('error'))} (`{ww.get('name', '?')}`) | "
        f"{sci(wo.get('error'))} | {'yes' if j.get('pass') else '**NO**'} | "
        f"{secs.get('ours', 0):.1f} / {secs.get('reference', 0):.1f} |")

L.append("")
L.append("## Training step throughput: ours against the Python reference, same device")
L.append("")
if not bench:
    L.append("Not run (see Steps).")
else:
  L.append(
    "`scripts/bench/step.js`: one MoCo v2 step (query forward + backward, key forward, queue K 4096, "
    "MSE intermediate loss), kaku2021 preset otherwise; inputs pre-generated on both sides, "
    "timed steps after warm-up steps. The reference runs twice: with our settings "
    "(channels_last, one intra-op thread per core, cuDNN benchmark on CUDA) and with NCHW and "
    "PyTorch's default thread count ('PyTorch defaults'); on CUDA a third time as published "
    "(fp32, NCHW). Cases ending in 'store' train ours end to end from a memory-mapped uint8 "
    "store (pinned gather, side-stream copy, both views augmented on the device) against the "
    "reference's step alone. Peak memory: the caching allocator's max allocated bytes over the "
    "timed steps.")
  L.append("")
  L.append("| configuration | ours img/s | reference img/s (same settings) | ratio | reference img/s (PyTorch defaults) | ratio | reference as published | ratio | peak GiB ours / ref | s |")
  L.append("|---|---|---|---|---|---|---|---|---|---|")
for b in bench:
    j = b["json"]
    if j and j.get("rows"):
        r = j["rows"][0]
        published = r.get("referencePublished")
        L.append(
            f"| {b['case']} | {r['ours']:.1f} | {r['referenceSame']:.1f} | {r['ratioSame']:.2f}× | "
            f"{r['referenceDefault']:.1f} | {r['ratioDefault']:.2f}× | {'–' if published is None else f'{published:.1f}'} | "
            f"{ratio(r.get('ratioPublished'))} | {gib(r.get('oursPeakBytes'))} / {gib(r.get('referencePeakBytes'))} | {b['seconds']} |")
    else:
        status = "timed out" if b["rc"] in ("124", "137") else f"failed (exit {b['rc']}), see bench.log"
        L.append(f"| {b['case']} | {status} | | | | | | | | {b['seconds']} |")
settings = [b["json"]["setup"] for b in bench if b["json"] and b["json"].get("setup")]
if settings:
    L.append("")
    L.append("Settings as `step.js` states them:")
    L.append("")
    for s in settings:
        L.append(f"- {s}")

L.append("")
L.append("## End-to-end training run (CLI)")
L.append("")
if meta.get("train_cmd"):
    L.append(f"`{meta['train_cmd']}`")
    L.append("")
if train:
    last = train.get("last") or {}
    loss = last.get("loss")
    L.append("| steps completed | last loss | img/s | checkpoint written |")
    L.append("|---|---|---|---|")
    L.append(f"| {train.get('stepsCompleted')} | {loss if loss is None else f'{loss:.4f}'} | "
             f"{train.get('imagesPerSecond', 0):.1f} | {'yes' if train.get('checkpoint') else 'no'} |")
else:
    L.append("No result (see Steps and train.log).")

if meta.get("build_status", "ok").startswith(("failed", "timeout")):
    L.append("")
    L.append("## Build log (last 60 lines)")
    L.append("")
    L.append("```")
    L.extend(read(os.path.join(out, "build.log")).splitlines()[-60:])
    L.append("```")

L.append("")
L.append("Raw logs beside this file: build.log, info.json, parity.log, bench.log, train.log, nvidia-smi.txt, env.txt.")
with open(os.path.join(out, "gpu-report.md"), "w", encoding="utf-8") as f:
    f.write("\n".join(L) + "\n")
PYEOF
}

finish() {
  meta total_seconds "$(( $(date +%s) - T0 ))"
  write_report
  log "report: $REPORT"
  if [ -n "${PY_OK:-}" ]; then
    echo
    write_report --short
  else
    cat "$RES/steps.tsv" 2>/dev/null
  fi
  if [ "$BUILD_FAILED" = 1 ] || [ "$PARITY_FAILED" = 1 ]; then exit 1; fi
  exit 0
}

# ---------------------------------------------------------------------------------------------
# 0. Python, nvidia-smi, versions.
if "$PYTHON" -c 'import json' 2>/dev/null; then PY_OK=1; else PY_OK=; fi
PY_PATH="$(command -v "$PYTHON" || echo "$PYTHON")"
export IMLM_PYTHON="$PY_PATH"           # scripts/bench/python.js and scripts/parity/run.js use it
export PYTHONUNBUFFERED=1
meta date "$(date -u '+%Y-%m-%d %H:%M UTC')"
meta dry "$DRY"
meta cores "$JOBS"
meta package "$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' package.json | head -1)"
meta git "$(git rev-parse --short HEAD 2>/dev/null || true)"
{
  echo "# gpu-check environment ($(date -u))"
  echo "root: $root"; echo "uname: $(uname -a)"; echo "cores: $JOBS"
  echo "python: $PY_PATH"
} >> "$ENV_TXT"

if [ "$DRY" != 1 ]; then
  if command -v nvidia-smi >/dev/null; then
    { nvidia-smi; echo; nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap,clocks.max.sm --format=csv; } > "$SMI_TXT" 2>&1
    meta gpu "$(nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>/dev/null | head -1)"
    meta driver "$(nvidia-smi --query-gpu=driver_version --format=csv,noheader 2>/dev/null | head -1)"
    meta driver_cuda "$(nvidia-smi 2>/dev/null | sed -n 's/.*CUDA Version: *\([0-9.]*\).*/\1/p' | head -1)"
    cap="$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | tr -d ' ')"
    # Torch's CMake files otherwise probe the GPU for it; no CUDA code is compiled here anyway.
    [ -n "$cap" ] && export TORCH_CUDA_ARCH_LIST="${TORCH_CUDA_ARCH_LIST:-$cap}"
  else
    echo "nvidia-smi not found" > "$SMI_TXT"
  fi
fi
if ! command -v nvcc >/dev/null && [ -x /usr/local/cuda/bin/nvcc ]; then export PATH="/usr/local/cuda/bin:$PATH"; fi
[ "$DRY" != 1 ] && command -v nvcc >/dev/null && meta nvcc "$(nvcc --version | sed -n 's/.*release \([^,]*\),.*/\1/p')"

if [ -z "$PY_OK" ]; then
  record python "failed" 0 "$PYTHON does not run"
  echo "gpu-check: $PYTHON does not run; set PYTHON=/path/to/python3 (with torch)" | tee -a "$ENV_TXT" >&2
  BUILD_FAILED=1
  finish
fi
torch_probe="$("$PYTHON" - <<'PYEOF' 2>>"$ENV_TXT"
import json, sys, torch, torch.utils
out = {"torch": torch.__version__, "cuda": torch.version.cuda, "cmake": torch.utils.cmake_prefix_path,
       "cudnn": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
       "cuda_available": torch.cuda.is_available(), "python": sys.version.split()[0]}
try:
    import torchvision
    out["torchvision"] = torchvision.__version__
except Exception as e:  # noqa: BLE001
    out["torchvision"] = f"missing: {e}"
print(json.dumps(out))
PYEOF
)"
jget() { "$PYTHON" -c 'import json,sys; v=json.loads(sys.argv[1]).get(sys.argv[2]); print("" if v is None else v)' "$torch_probe" "$1" 2>/dev/null; }
TORCH_VERSION="$(jget torch)"
if [ -z "$TORCH_VERSION" ]; then
  record python-torch "failed" 0 "$PYTHON cannot import torch (env.txt)"
  BUILD_FAILED=1
  finish
fi
TORCH_CMAKE="$(jget cmake)"
meta torch "$TORCH_VERSION (torchvision $(jget torchvision))"
meta torch_cuda "$(jget cuda)"
meta torch_cudnn "$(jget cudnn)"
meta python "$(jget python) ($PY_PATH)"
echo "torch probe: $torch_probe" >> "$ENV_TXT"

# ---------------------------------------------------------------------------------------------
# 1. Node.js, dist/ and node_modules/ from .device/.
t=$(date +%s)
if [ -s .device/node.xz ]; then
  if command -v xz >/dev/null; then
    xz -dc .device/node.xz > "$WORK/bin/node"
  else
    "$PYTHON" -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' .device/node.xz "$WORK/bin/node"
  fi
  chmod +x "$WORK/bin/node"
  export PATH="$WORK/bin:$PATH"
fi
if ! node --version >/dev/null 2>&1; then
  record node "failed" $(( $(date +%s) - t )) "no .device/node.xz and no node on PATH: run bash scripts/prepare-device.sh first"
  BUILD_FAILED=1
  finish
fi
# A copy made by an earlier run carries a stamp and is refreshed; a folder without one (a
# developer's own dist/ or node_modules/) is left alone.
for d in dist node_modules; do
  if [ -d ".device/$d" ] && { [ ! -e "$d" ] || [ -f "$d/.from-device" ]; }; then
    rm -rf "$d" && cp -a ".device/$d" "$d" && touch "$d/.from-device"
  fi
done
meta node "$(node --version) ($(command -v node))"
if [ ! -f dist/cli/main.js ] || [ ! -d node_modules/node-addon-api ] || [ ! -d node_modules/node-api-headers ]; then
  record node "failed" $(( $(date +%s) - t )) "dist/ or node_modules/ missing: run bash scripts/prepare-device.sh first"
  BUILD_FAILED=1
  finish
fi
record node ok $(( $(date +%s) - t )) "$(node --version)"

# ---------------------------------------------------------------------------------------------
# 2. The addon, built with CMakeLists.txt against PyTorch's LibTorch (no cmake-js).
t=$(date +%s)
meta cmake "$(cmake --version 2>/dev/null | head -1)"
meta cxx "$(${CXX:-g++} --version 2>/dev/null | head -1)"
if [ -n "${GPU_CHECK_ADDON:-}" ]; then
  ADDON="$(cd "$(dirname "$GPU_CHECK_ADDON")" && pwd)/$(basename "$GPU_CHECK_ADDON")"
  echo "GPU_CHECK_ADDON=$GPU_CHECK_ADDON: not building" > "$BUILD_LOG"
  meta build_status "skipped (GPU_CHECK_ADDON)"
  record build "skipped" 0 "using $GPU_CHECK_ADDON"
else
  ADDON="$root/build-gpu/imlm.node"
  if [ -n "${TORCH_DIR_OVERRIDE:-}" ]; then
    torch_dir="$TORCH_DIR_OVERRIDE"; prefix_path="$(cd "$TORCH_DIR_OVERRIDE/../.." && pwd)"
  else
    torch_dir="$TORCH_CMAKE/Torch"; prefix_path="$TORCH_CMAKE"
  fi
  napi_inc="$(node -p "require('node-api-headers').include_dir")"
  generator=(); command -v ninja >/dev/null && generator=(-G Ninja)
  # An earlier build-gpu/ is reused (incremental), unless it was configured elsewhere or with
  # another generator.
  if [ -f build-gpu/CMakeCache.txt ] && {
    ! grep -q "^CMAKE_GENERATOR:INTERNAL=${generator[1]:-Unix Makefiles}\$" build-gpu/CMakeCache.txt ||
    ! grep -q "^CMAKE_HOME_DIRECTORY:INTERNAL=$root\$" build-gpu/CMakeCache.txt; }; then
    rm -rf build-gpu
  fi
  reused=0; [ -f build-gpu/CMakeCache.txt ] && reused=1
  cmake_args=(-S . -B build-gpu "${generator[@]}" -DCMAKE_BUILD_TYPE=Release
    -DCMAKE_PREFIX_PATH="$prefix_path" -DTorch_DIR="$torch_dir"
    -DCMAKE_JS_INC="$napi_inc" -DCMAKE_JS_SRC= -DCMAKE_JS_LIB=
    -DIMLM_LIBTORCH_VERSION="$TORCH_VERSION" -DIMLM_LIBTORCH_SOURCE=pytorch
    -DCMAKE_POLICY_VERSION_MINIMUM=3.5)   # CMake 4 refuses older files' cmake_minimum_required
  if [ "$DRY" != 1 ]; then
    # Torch's CMake config enables the CUDA language: name the compiler and the GPU's architecture.
    command -v nvcc >/dev/null && cmake_args+=(-DCMAKE_CUDA_COMPILER="$(command -v nvcc)")
    [ -n "${cap:-}" ] && cmake_args+=(-DCMAKE_CUDA_ARCHITECTURES="${cap//./}")
  fi
  {
    echo "# torch $TORCH_VERSION, Torch_DIR=$torch_dir, node-api headers $napi_inc, TORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-}"
    echo "+ cmake ${cmake_args[*]}"
  } > "$BUILD_LOG"
  limited "$(budget 180)" cmake "${cmake_args[@]}" >> "$BUILD_LOG" 2>&1
  rc=$?
  if [ "$rc" != 0 ] && [ "$reused" = 1 ]; then
    echo "+ configuring the reused build-gpu/ failed: again in a fresh one" >> "$BUILD_LOG"
    rm -rf build-gpu
    limited "$(budget 180)" cmake "${cmake_args[@]}" >> "$BUILD_LOG" 2>&1
    rc=$?
  fi
  if [ "$rc" != 0 ] && grep -q "nvToolsExt" "$BUILD_LOG"; then
    # CUDA 12.9+ dropped libnvToolsExt; an older Torch CMake config still asks for it. The usual
    # fix: an interface target over the header-only NVTX 3, defined before find_package(Torch).
    cat > "$WORK/nvtx-shim.cmake" <<'CMEOF'
find_package(CUDAToolkit)
if(TARGET CUDA::nvtx3 AND NOT TARGET CUDA::nvToolsExt)
  add_library(CUDA::nvToolsExt INTERFACE IMPORTED)
  target_compile_definitions(CUDA::nvToolsExt INTERFACE TORCH_CUDA_USE_NVTX3)
  target_link_libraries(CUDA::nvToolsExt INTERFACE CUDA::nvtx3)
endif()
CMEOF
    echo "+ retrying with an NVTX 3 shim (CMAKE_PROJECT_INCLUDE)" >> "$BUILD_LOG"
    rm -rf build-gpu
    limited "$(budget 180)" cmake "${cmake_args[@]}" -DCMAKE_PROJECT_INCLUDE="$WORK/nvtx-shim.cmake" >> "$BUILD_LOG" 2>&1
    rc=$?
  fi
  if [ "$rc" = 0 ]; then
    echo "+ cmake --build build-gpu -j$JOBS" >> "$BUILD_LOG"
    # Keep going after a failed file (make -k / ninja -k 0), so one run shows every compile error.
    keep_going=(-k); [ "${generator[1]:-}" = Ninja ] && keep_going=(-k 0)
    limited "$(budget "${GPU_CHECK_BUILD_TIMEOUT_S:-480}")" cmake --build build-gpu -j"$JOBS" -- "${keep_going[@]}" >> "$BUILD_LOG" 2>&1
    rc=$?
  fi
  secs=$(( $(date +%s) - t ))
  meta build_seconds "$secs"
  if [ "$rc" = 0 ] && [ -f "$ADDON" ]; then
    meta build_status ok
    record build ok "$secs" "build-gpu/imlm.node"
  else
    [ "$rc" = 0 ] && rc=1
    meta build_status "$(status_of "$rc")"
    record build "$(status_of "$rc")" "$secs" "see build.log"
    echo "----- compile errors in build.log -----" >&2
    grep -E -A3 'error:|Error [0-9]|FAILED:' "$BUILD_LOG" | grep -v '^--$' | head -n 80 >&2
    echo "----- last lines of build.log -----" >&2
    tail -n 15 "$BUILD_LOG" >&2
    BUILD_FAILED=1
    finish
  fi
fi
export IMLM_ADDON_PATH="$ADDON"
echo "IMLM_ADDON_PATH=$IMLM_ADDON_PATH" >> "$ENV_TXT"

# ---------------------------------------------------------------------------------------------
# 3. info and doctor.
t=$(date +%s)
limited "$(budget 60)" node bin/imlm-native.js info --json > "$INFO_JSON" 2>> "$ENV_TXT"
rc=$?
note=""
if [ "$rc" = 0 ]; then
  note="$(node -e '
    const i = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const d = i.cuda.devices[0];
    console.log(`LibTorch ${i.libtorch.version}, CUDA ${i.cuda.available ? "available" : "NOT available"}` + (d ? `: ${d.name}` : ""));
  ' "$INFO_JSON" 2>/dev/null)"
  if [ "$DEVICE" = cuda ] && ! grep -q '"available": true' "$INFO_JSON"; then rc=1; fi
fi
record info "$(status_of "$rc")" $(( $(date +%s) - t )) "$note"
t=$(date +%s)
{ echo; echo "# imlm-native doctor"; } >> "$ENV_TXT"
limited "$(budget 60)" node bin/imlm-native.js doctor >> "$ENV_TXT" 2>&1
rc=$?
record doctor "$(status_of "$rc")" $(( $(date +%s) - t ))
write_report
# GPU_CHECK_ONLY=build: the addon, info and doctor, nothing more (scripts/gpu-profile.sh).
[ "${GPU_CHECK_ONLY:-}" = build ] && finish

# ---------------------------------------------------------------------------------------------
# 4. Parity on the device (all cases at once: each is mostly process start-up) and, alongside,
#    a short training run through the CLI.
if [ "$DRY" = 1 ]; then
  tol=(--loss-tol "${GPU_CHECK_LOSS_TOL:-1e-4}" --state-tol "${GPU_CHECK_STATE_TOL:-1e-3}")
  parity_cases=("resnet18 small 32 8 20 256 mse")
  train_args=(--device cpu --arch resnet18 --stem small --image-size 32 --batch-size 8 --steps 3)
else
  tol=(--loss-tol "${GPU_CHECK_LOSS_TOL:-2e-3}" --state-tol "${GPU_CHECK_STATE_TOL:-2e-2}")
  parity_cases=()
  for loss in mse barlow none; do
    parity_cases+=("resnet18 small 32 8 20 256 $loss" "resnet50 standard 64 16 40 2048 $loss")
  done
  train_args=(--device cuda --arch resnet18 --stem small --image-size 32 --batch-size 256 --steps 50)
fi
meta loss_tol "${tol[1]}"
meta state_tol "${tol[3]}"
parity_jobs="${GPU_CHECK_PARITY_JOBS:-${#parity_cases[@]}}"
parity_budget="$(budget 240 150)"   # keep time for the benchmarks
log "parity: ${#parity_cases[@]} cases on $DEVICE, $parity_jobs at a time, ${parity_budget}s each at most"
: > "$PARITY_LOG"
t_phase=$(date +%s)

run_parity() { # INDEX "arch stem size batch queue projector loss"
  local i="$1" arch stem size batch queue projector loss base t b
  read -r arch stem size batch queue projector loss <<< "$2"
  base="$RES/parity-$i"
  echo "$arch/$stem ${size}px b$batch $loss" > "$base.case"
  t=$(date +%s)
  b="$(budget "$parity_budget" 150)"; [ "$b" -ge 10 ] || b=10   # queued cases (GPU_CHECK_PARITY_JOBS)
  # NVIDIA_TF32_OVERRIDE=0: cuDNN and cuBLAS in plain fp32 in both processes (the first H200 run
  # failed 4 of 6 cases on zero-initialised BN weights, whose whole value is TF32-rounded
  # gradient: docs/benchmarks.md). Parity is about the maths; TF32 is a speed setting.
  limited "$b" env NVIDIA_TF32_OVERRIDE=0 node scripts/parity/run.js --device "$DEVICE" --arch "$arch" --stem "$stem" \
    --size "$size" --batch "$batch" --queue "$queue" --projector "$projector" --loss "$loss" "${tol[@]}" --json \
    > "$base.out" 2> "$base.err"
  echo $? > "$base.rc"
  echo $(( $(date +%s) - t )) > "$base.sec"
}

if [ "$parity_budget" -ge 30 ]; then
  # The training run, in the background.
  train_cmd="node bin/imlm-native.js train ${train_args[*]} --out \$TMP/run --json"
  meta train_cmd "$train_cmd"
  (
    t=$(date +%s)
    echo "+ $train_cmd" > "$TRAIN_LOG"
    limited "$parity_budget" node bin/imlm-native.js train "${train_args[@]}" --out "$WORK/run" --json \
      > "$RES/train.out" 2>> "$TRAIN_LOG"
    echo $? > "$RES/train.rc"
    echo $(( $(date +%s) - t )) > "$RES/train.sec"
  ) &
  train_pid=$!
  i=0
  for c in "${parity_cases[@]}"; do
    i=$((i + 1))
    while [ "$(jobs -rp | grep -vc "^$train_pid\$")" -ge "$parity_jobs" ]; do sleep 1; done
    run_parity "$(printf '%02d' "$i")" "$c" &
  done
  wait
  # Logs, and the step table.
  for f in "$RES"/parity-*.case; do
    base="${f%.case}"
    rc="$(cat "$base.rc" 2>/dev/null || echo 1)"
    {
      echo "=== $(cat "$f") (exit $rc, $(cat "$base.sec" 2>/dev/null)s)"
      cat "$base.out" "$base.err" 2>/dev/null
      echo
    } >> "$PARITY_LOG"
    verdict="$("$PYTHON" -c '
import json, sys
try:
    j = json.loads([l for l in open(sys.argv[1]).read().splitlines() if l.startswith("{")][-1])
    print("ok" if j["pass"] else "FAIL", "loss %.1e weight %.1e" % (j["worstLoss"], j["worstWeight"]["error"]))
except Exception:
    print("error")' "$base.out" 2>/dev/null)"
    case "$verdict" in
      ok*) record "parity $(cat "$f")" ok "$(cat "$base.sec")" "${verdict#ok }" ;;
      FAIL*) record "parity $(cat "$f")" FAILED "$(cat "$base.sec")" "${verdict#FAIL }"; PARITY_FAILED=1 ;;
      *) record "parity $(cat "$f")" "$(status_of "$([ "$rc" = 0 ] && echo 1 || echo "$rc")")" "$(cat "$base.sec")" "$(err_note "$base.err")"; PARITY_FAILED=1 ;;
    esac
  done
  # The training run's result.
  rc="$(cat "$RES/train.rc" 2>/dev/null || echo 1)"
  cat "$RES/train.out" >> "$TRAIN_LOG" 2>/dev/null
  note="$("$PYTHON" -c '
import json, math, sys
j = json.loads([l for l in open(sys.argv[1]).read().splitlines() if l.startswith("{")][-1])
loss = (j.get("last") or {}).get("loss")
ok = j.get("stepsCompleted") and loss is not None and math.isfinite(loss)
print(("" if ok else "BAD ") + "%s steps, last loss %s, %.0f img/s" % (j.get("stepsCompleted"), "none" if loss is None else "%.4f" % loss, j.get("imagesPerSecond", 0)))' "$RES/train.out" 2>/dev/null)"
  if [ "$rc" = 0 ] && [ -n "$note" ] && [ "${note#BAD }" = "$note" ]; then
    record train ok "$(cat "$RES/train.sec")" "$note"
  else
    [ "$rc" = 0 ] && rc=1
    record train "$(status_of "$rc")" "$(cat "$RES/train.sec" 2>/dev/null || echo 0)" "${note:-$(err_note "$TRAIN_LOG")}"
  fi
else
  record parity skipped 0 "no time left"
  record train skipped 0 "no time left"
  PARITY_FAILED=1
fi
log "parity and training run: $(( $(date +%s) - t_phase ))s"
write_report

# ---------------------------------------------------------------------------------------------
# 4b. Distributed training on one rank: the c10d process group (NCCL on CUDA; Gloo in a dry run)
#     with the same code path as N ranks — gradient buckets, rank-0 broadcast, gathered keys.
if [ "$DRY" = 1 ]; then
  dist_backend=gloo
  dist_args=(--device cpu --arch resnet18 --stem small --image-size 32 --batch-size 8 --steps 3)
else
  dist_backend=nccl
  dist_args=(--device cuda --arch resnet18 --stem small --image-size 32 --batch-size 256 --steps 30)
fi
b="$(budget 120 150)"
if [ "$b" -ge 30 ]; then
  t=$(date +%s)
  dist_port="$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
  dist_cmd="RANK=0 LOCAL_RANK=0 WORLD_SIZE=1 MASTER_ADDR=127.0.0.1 MASTER_PORT=$dist_port node bin/imlm-native.js train ${dist_args[*]} --dist-backend $dist_backend --out \$TMP/run-dist --json"
  meta dist_cmd "$dist_cmd"
  {
    echo
    echo "+ $dist_cmd"
  } >> "$TRAIN_LOG"
  RANK=0 LOCAL_RANK=0 WORLD_SIZE=1 MASTER_ADDR=127.0.0.1 MASTER_PORT="$dist_port" \
    limited "$b" node bin/imlm-native.js train "${dist_args[@]}" --dist-backend "$dist_backend" --out "$WORK/run-dist" --json \
    > "$WORK/train-dist.out" 2>> "$TRAIN_LOG"
  rc=$?
  cat "$WORK/train-dist.out" >> "$TRAIN_LOG" 2>/dev/null
  note="$("$PYTHON" -c '
import json, math, sys
j = json.loads([l for l in open(sys.argv[1]).read().splitlines() if l.startswith("{")][-1])
loss = (j.get("last") or {}).get("loss")
ok = j.get("stepsCompleted") and loss is not None and math.isfinite(loss)
print(("" if ok else "BAD ") + "%s steps, last loss %s, %.0f img/s" % (j.get("stepsCompleted"), "none" if loss is None else "%.4f" % loss, j.get("imagesPerSecond", 0)))' "$WORK/train-dist.out" 2>/dev/null)"
  if [ "$rc" = 0 ] && [ -n "$note" ] && [ "${note#BAD }" = "$note" ]; then
    record "train $dist_backend (1 rank, c10d)" ok $(( $(date +%s) - t )) "$note"
  else
    [ "$rc" = 0 ] && rc=1
    record "train $dist_backend (1 rank, c10d)" "$(status_of "$rc")" $(( $(date +%s) - t )) "${note:-$(err_note "$TRAIN_LOG")}"
  fi
else
  record "train $dist_backend (1 rank, c10d)" skipped 0 "no time left"
fi
write_report

# ---------------------------------------------------------------------------------------------
# 5. Benchmarks: ours against the reference on the same device, one case at a time.
# A case: "arch stem size batch precision [store]" (store: ours end to end from a uint8 store,
# augmented on the device). The first is the product's compass: ResNet-50 224² b256 bf16.
if [ "$DRY" = 1 ]; then
  bench_main="resnet18 small 32 8 fp32;resnet18 small 32 8 fp32 store"
  bench_extra=""
  bench_steps=(--steps 2 --warmup 1)
else
  bench_main="resnet50 standard 224 256 bf16;resnet50 standard 224 256 bf16 store;resnet18 small 32 256 fp32;resnet18 small 32 256 bf16"
  bench_extra="resnet50 standard 224 64 bf16;resnet18 small 32 1024 bf16"
  bench_steps=(--steps 20 --warmup 5)
fi
bench_main="${GPU_CHECK_BENCH:-$bench_main}"
bench_extra="${GPU_CHECK_BENCH_EXTRA-$bench_extra}"
[ "$bench_main" = none ] && bench_main=""
[ "$bench_extra" = none ] && bench_extra=""
: > "$BENCH_LOG"
i=0
run_bench() { # "arch stem size batch precision [store]" EXTRA(0/1)
  local arch stem size batch precision source base t rc b
  [ -n "${1// /}" ] || return 0
  read -r arch stem size batch precision source <<< "$1"
  source="${source:-fixed}"
  i=$((i + 1))
  base="$RES/bench-$(printf '%02d' "$i")"
  local name="$arch/$stem ${size}px b$batch $precision"
  [ "$source" = store ] && name="$name store"
  b="$(budget 120)"
  if [ "$2" = 1 ] && [ "$(left)" -lt 150 ]; then record "bench $name" skipped 0 "optional case; too little time left"; return; fi
  echo "$name" > "$base.case"
  if [ "$b" -lt 30 ]; then
    echo 124 > "$base.rc"; echo 0 > "$base.sec"
    record "bench $name" skipped 0 "no time left"
    return
  fi
  t=$(date +%s)
  echo "=== $name (timeout ${b}s)" >> "$BENCH_LOG"
  limited "$b" node scripts/bench/step.js --device "$DEVICE" --precision "$precision" --arch "$arch" --stem "$stem" \
    --size "$size" --batch "$batch" --loss mse --source "$source" "${bench_steps[@]}" --json > "$base.out" 2> "$base.err"
  rc=$?
  echo "$rc" > "$base.rc"
  echo $(( $(date +%s) - t )) > "$base.sec"
  cat "$base.out" "$base.err" >> "$BENCH_LOG"
  local note
  note="$("$PYTHON" -c '
import json, sys
j = json.loads([l for l in open(sys.argv[1]).read().splitlines() if l.startswith("{")][-1])
r = j["rows"][0]
extra = "" if r.get("ratioPublished") is None else ", %.2fx the published setting" % r["ratioPublished"]
peaks = "" if r.get("oursPeakBytes") is None else ", peak %.2f / %.2f GiB" % (r["oursPeakBytes"] / 2**30, (r.get("referencePeakBytes") or 0) / 2**30)
print("ours %.0f img/s, reference %.0f img/s (%.2fx)%s%s" % (r["ours"], r["referenceSame"], r["ratioSame"], extra, peaks))' "$base.out" 2>/dev/null)"
  if [ "$rc" = 0 ] && [ -z "$note" ]; then rc=1; fi
  record "bench $name" "$(status_of "$rc")" "$(cat "$base.sec")" "${note:-$(err_note "$base.err")}"
  write_report
}
IFS=';' read -r -a cases <<< "$bench_main"
for c in "${cases[@]}"; do run_bench "$c" 0; done

# 5b. Where a step's time goes, ours and the reference's (the tracing of scripts/gpu-profile.sh,
#     one case, 5 steps): Kineto traces summed by scripts/trace-summary.py into bench.log. Before
#     the optional cases: when we are slower, this says why without a second device run.
if [ "${GPU_CHECK_PROFILE:-1}" = 1 ] && [ "$(left)" -ge 120 ]; then
  t=$(date +%s)
  # The compass case on a GPU: its trace says where a step's time goes and shows whether the
  # steps between reports synchronise (cudaStreamSynchronize / cudaMemcpy D2H counts).
  if [ "$DRY" = 1 ]; then
    profile_case=(--arch resnet18 --stem small --size 32 --batch 8 --precision fp32)
  else
    profile_case=(--arch resnet50 --stem standard --size 224 --batch 256 --precision bf16)
  fi
  echo "=== profile: ${profile_case[*]}, 5 traced steps (IMLM_PROFILE_TRACE)" >> "$BENCH_LOG"
  IMLM_PROFILE_TRACE="$WORK/trace" limited "$(budget 100)" node scripts/bench/step.js --device "$DEVICE" \
    "${profile_case[@]}" --loss mse --steps 5 --warmup 5 --json >> "$BENCH_LOG" 2>&1
  rc=$?
  "$PYTHON" scripts/trace-summary.py --steps 5 "$WORK/trace.1.json" "$WORK/trace.reference-nhwc.json" \
    "$WORK/trace.reference-nchw.json" >> "$BENCH_LOG" 2>&1
  note="traces summarised in bench.log"
  [ -s "$WORK/trace.1.json" ] || note="no trace from the addon (a LibTorch without Kineto?): see bench.log"
  record profile "$(status_of "$rc")" $(( $(date +%s) - t )) "$note"
fi
# 5c. The host feed alone (scripts/bench/feed.js): 224² uint8 batches gathered from a memory-mapped
#     shard into pinned memory, without augmentation: what the host can give the GPU.
if [ "$(left)" -ge 60 ]; then
  t=$(date +%s)
  if [ "$DRY" = 1 ]; then feed_args=(--images 256 --size 64 --batch 32 --batches 4); else feed_args=(--images 2048 --size 224 --batch 256 --batches 40); fi
  echo "=== host feed: ${feed_args[*]} --device $DEVICE" >> "$BENCH_LOG"
  limited "$(budget 60)" node scripts/bench/feed.js "${feed_args[@]}" --device "$DEVICE" --json > "$WORK/feed.out" 2>> "$BENCH_LOG"
  rc=$?
  cat "$WORK/feed.out" >> "$BENCH_LOG"
  note="$("$PYTHON" -c '
import json, sys
j = json.loads([l for l in open(sys.argv[1]).read().splitlines() if l.startswith("{")][-1])
print("; ".join("%d ch: %.0f img/s, %.2f GB/s, pinned %s" % (r["channels"], r["imagesPerSecond"], r["gigabytesPerSecond"], r["pinned"]) for r in j["rows"]))' "$WORK/feed.out" 2>/dev/null)"
  [ "$rc" = 0 ] && [ -z "$note" ] && rc=1
  record "host feed (gather + pin)" "$(status_of "$rc")" $(( $(date +%s) - t )) "${note:-$(err_note "$BENCH_LOG")}"
  write_report
fi
IFS=';' read -r -a cases <<< "$bench_extra"
for c in "${cases[@]}"; do run_bench "$c" 1; done

# ---------------------------------------------------------------------------------------------
# 6. The report; the short table last.
log "done in $(( $(date +%s) - T0 ))s"
finish
