#!/usr/bin/env bash
# npm run test:asan — the addon built with AddressSanitizer and UndefinedBehaviorSanitizer
# (build-asan/imlm.node, plain CMake, -O0: the build is the slow part), then the native tests and the safetensors fuzzer run
# against it in a node with the sanitizer runtimes preloaded. Any report aborts the process
# that made it, so the jest run (or, for the fuzzer, its child that crashed) fails.
#
#   bash scripts/test-asan.sh [jest paths…]    (default: test/native)
#
# LibTorch itself is not instrumented: ASan sees our code's heap and stack accesses and every
# malloc/free of the process; UBSan checks our code. vptr checks are off (they need RTTI of
# LibTorch's classes, which its shared library hides), and so is leak detection (node and
# LibTorch keep allocations alive until exit on purpose).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"
jobs="$(nproc 2>/dev/null || echo 2)"
flags="-fsanitize=address,undefined -fno-sanitize=vptr -fno-sanitize-recover=undefined -fno-omit-frame-pointer -O0 -g0"
napi_inc="$(node -p "require('node-api-headers').include_dir")"
generator=(); command -v ninja >/dev/null && generator=(-G Ninja)

start=$(date +%s)
cmake -S . -B build-asan "${generator[@]}" -DCMAKE_BUILD_TYPE=None \
  -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_SHARED_LINKER_FLAGS="-fsanitize=address,undefined" \
  -DCMAKE_JS_INC="$napi_inc" -DCMAKE_JS_SRC= -DCMAKE_JS_LIB= > build-asan.log 2>&1 ||
  { tail -30 build-asan.log; echo "test:asan: cmake failed (build-asan.log)" >&2; exit 1; }
cmake --build build-asan -j"$jobs" >> build-asan.log 2>&1 ||
  { grep -E -A3 'error:' build-asan.log | head -40; echo "test:asan: the sanitizer build failed (build-asan.log)" >&2; exit 1; }
addon="$root/build-asan/imlm.node"
[ -f "$addon" ] || addon="$root/build-asan/Release/imlm.node"
echo "test:asan: built $addon in $(( $(date +%s) - start )) s"

cxx="${CXX:-g++}"
preload="$($cxx -print-file-name=libasan.so) $($cxx -print-file-name=libubsan.so)"
export LD_PRELOAD="$preload"
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:halt_on_error=1:allocator_may_return_null=1:detect_odr_violation=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export IMLM_ADDON_PATH="$addon"
paths=("$@")
[ ${#paths[@]} -gt 0 ] || paths=(test/native)
node --expose-gc node_modules/jest/bin/jest.js --runInBand "${paths[@]}"
echo "test:asan: done in $(( $(date +%s) - start )) s"
