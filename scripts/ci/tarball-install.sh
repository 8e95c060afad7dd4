#!/usr/bin/env bash
# The package as a user gets it: `npm pack` (prepack puts the addon built here under prebuilds/,
# scripts/prebuild.js), the tarball installed into a fresh app with `npm install`, and there a
# require('imlm-native') with a tensor round trip and info(), then README.md's runnable example
# (the `js runnable` block of the installed package's README, as test/docs/snippets.test.ts runs
# it from the checkout). The app approves the package's install script in its package.json
# ("allowScripts": npm 11 only warns about an unapproved dependency script and runs it, npm 12
# skips it). For a tarball the key is "file:<absolute path>" (what `npm install-scripts approve`
# writes; a bare "imlm-native" does not cover it), and --strict-allow-scripts makes npm 11 fail as
# npm 12 would if the approval did not match.
#
#   bash scripts/ci/tarball-install.sh        (npm run test:tarball; .ci/run calls it)
#
# IMLM_TARBALL_EXPECT=prebuild|build fails the run unless the install went that way.
set -euo pipefail
cd "$(dirname "$0")/../.."
start=$(date +%s)
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

tarball="$(npm pack --silent --pack-destination "$work" | tail -1)"
echo "tarball-install: packed $tarball ($(du -k "$work/$tarball" | cut -f1) KiB) in $(( $(date +%s) - start )) s"

mkdir "$work/app" && cd "$work/app"
npm init -y > /dev/null
TARBALL="$work/$tarball" node -e '
  const fs = require("fs");
  const p = JSON.parse(fs.readFileSync("package.json", "utf8"));
  p.allowScripts = { ["file:" + process.env.TARBALL]: true };
  fs.writeFileSync("package.json", JSON.stringify(p, null, 2) + "\n");'
t0=$(date +%s)
npm install --no-audit --no-fund --foreground-scripts --strict-allow-scripts "$work/$tarball" 2>&1 | tee install.log
echo "tarball-install: npm install in $(( $(date +%s) - t0 )) s"
if grep -q 'using the prebuilt addon' install.log; then how=prebuild; else how=build; fi
echo "tarball-install: the addon came from the ${how}"
if [ -n "${IMLM_TARBALL_EXPECT:-}" ] && [ "$IMLM_TARBALL_EXPECT" != "$how" ]; then
  echo "tarball-install: expected the addon from the $IMLM_TARBALL_EXPECT" >&2
  exit 1
fi

# require() from CommonJS, a small call.
node -e '
  const imlm = require("imlm-native");
  const back = Array.from(imlm.tensor(new Float32Array([1.5, -2, 3]), [3]).toTypedArray());
  if (back.join() !== "1.5,-2,3") throw new Error("tensor round trip gave " + back);
  imlm.info().then((i) => console.log("tarball-install: require ok, LibTorch " + i.libtorch.version + ", built by " + i.build.system));'
# README.md's runnable example.
node -e '
  const lines = require("fs").readFileSync("node_modules/imlm-native/README.md", "utf8").split("\n");
  const i = lines.findIndex((l) => l.trim() === "```js runnable");
  if (i < 0) throw new Error("README.md has no runnable example");
  const end = lines.findIndex((l, j) => j > i && l.trim() === "```");
  require("fs").writeFileSync("readme-example.mjs", lines.slice(i + 1, end).join("\n") + "\n");'
node readme-example.mjs
echo "tarball-install: done in $(( $(date +%s) - start )) s"
