#!/usr/bin/env bash
# Where a MoCo step's time goes on a GPU, ours against the Python reference, kernel by kernel:
# on the GPU machine, in a copy of the working tree plus .device/ (scripts/prepare-device.sh):
#
#   OUT=./gpu-profile bash scripts/gpu-profile.sh
#
# builds the addon (scripts/gpu-check.sh with GPU_CHECK_ONLY=build), runs scripts/bench/step.js
# with IMLM_PROFILE_TRACE set (our trainer and the reference each write a Kineto trace of the
# timed steps) for each case in GPU_PROFILE_CASES, and summarises the traces with
# scripts/trace-summary.py into $OUT/summary.txt; the timed traces come back gzipped.
#
# Environment: OUT; PYTHON (default python3); GPU_PROFILE_CASES, ';'-separated
# "arch stem size batch precision" (default: resnet18 small 32 256 fp32; resnet50 standard 224 64 fp32);
# GPU_PROFILE_STEPS (timed steps, default 5); GPU_PROFILE_DRY=1 on the CPU with the local addon.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root" || exit 1
OUT="${OUT:-./gpu-profile}"
mkdir -p "$OUT" && OUT="$(cd "$OUT" && pwd)" || exit 1
PYTHON="${PYTHON:-python3}"
STEPS="${GPU_PROFILE_STEPS:-5}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/imlm-gpu-profile.XXXXXX")" || exit 1
trap 'rm -rf "$WORK"' EXIT
log() { printf '[gpu-profile %4ds] %s\n' "$SECONDS" "$*" >&2; }

if [ "${GPU_PROFILE_DRY:-0}" = 1 ]; then
  device=cpu
  cases="${GPU_PROFILE_CASES:-resnet18 standard 32 8 fp32}"
else
  device=cuda
  cases="${GPU_PROFILE_CASES:-resnet18 small 32 256 fp32;resnet50 standard 224 64 fp32}"
  log "building the addon (scripts/gpu-check.sh, GPU_CHECK_ONLY=build)"
  if ! GPU_CHECK_ONLY=build GPU_CHECK_DEADLINE_S="${GPU_PROFILE_BUILD_S:-300}" OUT="$WORK/check" \
      PYTHON="$PYTHON" bash scripts/gpu-check.sh > "$OUT/check.log" 2>&1; then
    tail -n 60 "$OUT/check.log"
    cp "$WORK/check/build.log" "$OUT/" 2>/dev/null
    exit 1
  fi
  export IMLM_ADDON_PATH="$root/build-gpu/imlm.node"
fi
if [ -s .device/node.xz ] && ! command -v node >/dev/null; then
  mkdir -p "$WORK/bin" && xz -dc .device/node.xz > "$WORK/bin/node" && chmod +x "$WORK/bin/node"
  export PATH="$WORK/bin:$PATH"
fi
export IMLM_PYTHON="$PYTHON"

IFS=';' read -r -a list <<< "$cases"
n=0
for c in "${list[@]}"; do
  read -r arch stem size batch precision <<< "$c"
  n=$((n + 1))
  name="case$n-$arch-$size-b$batch-$precision"
  log "$name: ours and the reference, $STEPS timed steps, traced"
  IMLM_PROFILE_TRACE="$WORK/$name" timeout 240 node scripts/bench/step.js --device "$device" --arch "$arch" --stem "$stem" \
    --size "$size" --batch "$batch" --precision "$precision" --loss mse --steps "$STEPS" --warmup 5 --json \
    >> "$OUT/bench.log" 2>&1 || log "$name: step.js failed (bench.log)"
  {
    echo "# $name"
    tail -n 1 "$OUT/bench.log"
    "$PYTHON" scripts/trace-summary.py --steps "$STEPS" "$WORK/$name.1.json" "$WORK/$name.reference-nhwc.json" "$WORK/$name.reference-nchw.json"
  } >> "$OUT/summary.txt" 2>&1
  for f in "$WORK/$name.1.json" "$WORK/$name.reference-nhwc.json"; do
    [ -f "$f" ] && gzip -c "$f" > "$OUT/$(basename "$f").gz"
  done
done
cat "$OUT/summary.txt"
