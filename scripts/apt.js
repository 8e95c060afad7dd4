'use strict';
// Installing Debian packages when a step needs them and may (root on a Debian-like system).
// Used by scripts/setup.js (LibTorch, build tools), scripts/setup-test-deps.js (test data and the
// Python reference) and lib/cli/demo-store.ts (the Fashion-MNIST demo; the library itself installs nothing). Only Debian's archive is used.
const fs = require('fs');
const childProcess = require('child_process');

function canUseApt() {
  return (
    process.platform === 'linux' &&
    fs.existsSync('/etc/debian_version') &&
    typeof process.getuid === 'function' &&
    process.getuid() === 0 &&
    childProcess.spawnSync('sh', ['-c', 'command -v apt-get'], { stdio: 'ignore' }).status === 0
  );
}

/**
 * apt-get install, retried after `apt-get update` (a fresh machine may have no package lists).
 * Returns whether it succeeded; `quiet` hides apt's output.
 */
function aptInstall(packages, { quiet = false } = {}) {
  if (!canUseApt()) return false;
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const stdio = quiet ? 'ignore' : 'inherit';
  const install = () =>
    childProcess.spawnSync('apt-get', ['install', '-y', '--no-install-recommends', ...packages], { stdio, env }).status === 0;
  if (install()) return true;
  childProcess.spawnSync('apt-get', ['update'], { stdio, env });
  return install();
}

module.exports = { canUseApt, aptInstall };
