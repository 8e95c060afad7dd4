#!/usr/bin/env bash
# Fills .device/ (ignored by git) with what scripts/gpu-check.sh needs on a GPU machine that has
# no Node.js and no network (docs/benchmarks.md, "GPU check"):
#
#   .device/node.xz        this machine's Node.js binary, xz-compressed
#   .device/dist/          the compiled TypeScript (npx tsc -p tsconfig.build.json first when
#                          dist/ is missing or older than lib/)
#   .device/node_modules/  only what the native build and the run need: node-addon-api,
#                          node-api-headers, node-gyp-build and the runtime dependencies of dist/
#                          (commander, ajv, cli-progress and their dependencies) — no jest,
#                          typescript, cmake-js or node-gyp
#
# Run it in the repository root (or anywhere: it changes there): bash scripts/prepare-device.sh
# Then, on the GPU machine, in a copy of the working tree plus .device/: bash scripts/gpu-check.sh
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
dev=.device

say() { printf 'prepare-device: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

command -v node >/dev/null || die "node is not on PATH (this script runs on a development machine)"
command -v xz >/dev/null || die "xz is missing: apt-get install xz-utils"
[ -d node_modules ] || die "node_modules/ is missing: run npm install (or npm ci) first"

# 1. .device/ must stay out of git (it is in .gitignore; add it to .git/info/exclude otherwise).
#    It must exist first: git matches the pattern ".device/" only against a folder.
mkdir -p "$dev"
if ! git check-ignore -q "$dev" 2>/dev/null; then
  exclude="$(git rev-parse --git-path info/exclude)"
  mkdir -p "$(dirname "$exclude")"
  echo "$dev/" >> "$exclude"
  say "added $dev/ to $exclude"
fi
git check-ignore -q "$dev" || die "$dev is still not ignored by git; add it to .git/info/exclude by hand"

# 2. Node.js itself (a self-contained binary: it needs only glibc, libstdc++, libm, libgcc_s).
node_bin="$(readlink -f "$(command -v node)")"
node_version="$(node -p process.version)"
if [ ! -s "$dev/node.xz" ] || [ "$(cat "$dev/node.version" 2>/dev/null)" != "$node_version $node_bin" ] || [ "$node_bin" -nt "$dev/node.xz" ]; then
  say "compressing $node_bin ($node_version) into $dev/node.xz (takes a minute)"
  xz -T2 -c "$node_bin" > "$dev/node.xz.tmp"
  mv "$dev/node.xz.tmp" "$dev/node.xz"
  echo "$node_version $node_bin" > "$dev/node.version"
else
  say "$dev/node.xz is up to date ($node_version)"
fi

# 3. The compiled TypeScript, rebuilt when lib/ (or the tsconfig) is newer than dist/.
stale=""
if [ ! -f dist/index.js ] || [ ! -f dist/cli/main.js ]; then
  stale="dist/ is missing"
elif [ -n "$(find lib tsconfig.json tsconfig.build.json -newer dist/index.js -print -quit 2>/dev/null)" ]; then
  stale="lib/ is newer than dist/"
fi
if [ -n "$stale" ]; then
  say "$stale: npx tsc -p tsconfig.build.json"
  npx --no-install tsc -p tsconfig.build.json || die "the TypeScript does not compile (output above); fix it, then run this again"
fi
rm -rf "$dev/dist"
cp -a dist "$dev/dist"

# 4. The runtime packages and their dependency closure, resolved the way Node resolves them
#    (each package's dependencies and optionalDependencies, from its own folder upwards), and
#    copied to the same relative paths so nested node_modules keep working.
rm -rf "$dev/node_modules"
node - "$root" "$dev/node_modules" <<'EOF'
'use strict';
const fs = require('fs');
const path = require('path');
const [root, target] = process.argv.slice(2);
// sharp and vega (tens of MiB) stay behind: the GPU check never decodes images or draws plots, and
// the modules that use them load them lazily.
const roots = ['node-addon-api', 'node-api-headers', 'node-gyp-build', 'commander', 'ajv', 'cli-progress', 'js-yaml', 'dicom-parser'];
// Never wanted on the device, whoever depends on them.
const excluded = new Set(['jest', 'typescript', 'cmake-js', 'node-gyp', 'ts-jest']);

/** The folder of package `name` as seen from `fromDir` (walking up through node_modules). */
function resolvePackage(name, fromDir) {
  let dir = fromDir;
  for (;;) {
    const candidate = path.join(dir, 'node_modules', name);
    if (fs.existsSync(path.join(candidate, 'package.json'))) return candidate;
    if (path.resolve(dir) === path.resolve(root)) return null;
    const parent = path.dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
}

const found = new Map(); // folder -> package name
const queue = roots.map((name) => ({ name, from: root, optional: false }));
while (queue.length) {
  const { name, from, optional } = queue.shift();
  if (excluded.has(name)) throw new Error(`${name} would be needed at run time (from ${from})`);
  const dir = resolvePackage(name, from);
  if (!dir) {
    if (optional) continue;
    throw new Error(`${name} (needed from ${path.relative(root, from) || '.'}) is not installed; run npm ci`);
  }
  if (found.has(dir)) continue;
  found.set(dir, name);
  const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
  for (const dep of Object.keys(pkg.dependencies || {})) queue.push({ name: dep, from: dir, optional: false });
  for (const dep of Object.keys(pkg.optionalDependencies || {})) queue.push({ name: dep, from: dir, optional: true });
}

// Cross-check with package-lock.json: every package must be in the lock, and none may be dev-only.
const lockFile = path.join(root, 'package-lock.json');
if (fs.existsSync(lockFile)) {
  const lock = JSON.parse(fs.readFileSync(lockFile, 'utf8')).packages || {};
  for (const dir of found.keys()) {
    const key = path.relative(root, dir).split(path.sep).join('/');
    const entry = lock[key];
    if (!entry) console.error(`prepare-device: warning: ${key} is not in package-lock.json`);
    else if (entry.dev) console.error(`prepare-device: warning: ${key} is a dev-only package in package-lock.json`);
  }
}

for (const dir of [...found.keys()].sort()) {
  const rel = path.relative(path.join(root, 'node_modules'), dir);
  const nested = path.join(dir, 'node_modules');
  fs.cpSync(dir, path.join(target, rel), {
    recursive: true,
    dereference: true,
    // A package's own node_modules holds other packages: they are copied only when needed.
    filter: (src) => src !== nested && !src.startsWith(nested + path.sep),
  });
}
const list = [...found.keys()].map((d) => path.relative(path.join(root, 'node_modules'), d)).sort();
console.error(`prepare-device: ${list.length} packages: ${list.join(', ')}`);
EOF

# 5. A quick check that the copied packages and dist/ load with nothing else around them.
check="$(mktemp -d)"
trap 'rm -rf "$check"' EXIT
cp -a "$dev/dist" "$check/dist"
cp -a "$dev/node_modules" "$check/node_modules"
cp package.json "$check/"
(cd "$check" && node -e "
  for (const m of ['commander', 'ajv', 'cli-progress', 'node-gyp-build', 'node-addon-api', 'node-api-headers']) require(m);
  require('./distributed/cli/program.js'); require('./distributed/config/train-config.js');
  const h = require('node-api-headers').include_dir;
  if (!require('fs').existsSync(require('path').join(h, 'node_api.h'))) throw new Error('no node_api.h under ' + h);
") || die "the copied dist/ or node_modules/ do not load on their own (see above)"

# 6. Sizes: the repository plus .device/ must stay under 64 MiB (what the GPU machine receives).
mib() { awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; }
tree_kb="$(git ls-files -z --cached --others --exclude-standard | du -ck --files0-from=- 2>/dev/null | tail -1 | cut -f1 || true)"
tree_kb="${tree_kb:-0}"
dev_kb="$(du -sk "$dev" | cut -f1)"
total_kb=$((tree_kb + dev_kb))
say "node.xz $(mib "$(du -sk "$dev/node.xz" | cut -f1)"), dist $(mib "$(du -sk "$dev/dist" | cut -f1)"), node_modules $(mib "$(du -sk "$dev/node_modules" | cut -f1)")"
say "working tree (tracked + untracked, not ignored) $(mib "$tree_kb") + .device/ $(mib "$dev_kb") = $(mib "$total_kb") (limit 64 MiB)"
[ "$total_kb" -lt $((60 * 1024)) ] || die "too large: the working tree plus .device/ must stay well under 64 MiB"
say "$dev ready ($(du -sh "$dev" | cut -f1)). On the GPU machine: bash scripts/gpu-check.sh (carry .device)"
