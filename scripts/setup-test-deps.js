#!/usr/bin/env node
'use strict';
// Part of `npm test` (pretest): the parity tests need a Python with PyTorch and torchvision
// (scripts/reference/), the demo and data tests Debian's Fashion-MNIST. On Debian as root,
// install what is missing with apt; otherwise say what to install (the tests that need it then
// fail with the same message).
const { spawnSync } = require('child_process');
const fs = require('fs');
const { findTorchPython } = require('./bench/python');

const kPackages = ['python3-torch', 'python3-torchvision', 'dataset-fashion-mnist'];
const kFashionMnist = '/usr/share/datasets/fashion-mnist';
const ready = () => findTorchPython() && fs.existsSync(kFashionMnist);

if (ready()) process.exit(0);
const root = typeof process.getuid === 'function' && process.getuid() === 0;
if (root && fs.existsSync('/etc/debian_version')) {
  process.stderr.write(`imlm-native: installing ${kPackages.join(' ')} for the parity tests\n`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  let r = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', ...kPackages], { stdio: 'inherit', env });
  if (r.status !== 0) {
    spawnSync('apt-get', ['update'], { stdio: 'inherit', env });
    r = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', ...kPackages], { stdio: 'inherit', env });
  }
  if (r.status === 0 && ready()) process.exit(0);
}
process.stderr.write(
  `imlm-native: the parity and demo tests need PyTorch for Python and Fashion-MNIST: run ` +
    `\`sudo apt-get install ${kPackages.join(' ')}\` (or set IMLM_PYTHON to a python with torch and torchvision)\n`,
);
