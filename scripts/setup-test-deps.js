#!/usr/bin/env node
'use strict';
// Part of `npm test` (pretest): the parity tests need a Python with PyTorch and torchvision
// (scripts/reference/), the analysis tests SciPy and scikit-learn in that Python (they compare
// metrics, KS and CKA with them), the demo and data tests Debian's Fashion-MNIST. On Debian as root,
// install what is missing with apt; otherwise say what to install (the tests that need it then
// fail with the same message).
const fs = require('fs');
const { spawnSync } = require('child_process');
const { findTorchPython } = require('./bench/python');
const { canUseApt, aptInstall } = require('./apt');

const kPackages = ['python3-torch', 'python3-torchvision', 'python3-scipy', 'python3-sklearn', 'dataset-fashion-mnist'];
const kFashionMnist = '/usr/share/datasets/fashion-mnist';
const hasScientificPython = (torch) =>
  torch !== null && spawnSync(torch.python, ['-c', 'import scipy, sklearn'], { stdio: 'ignore' }).status === 0;
const ready = () => {
  const torch = findTorchPython();
  return Boolean(torch) && hasScientificPython(torch) && fs.existsSync(kFashionMnist);
};

if (ready()) process.exit(0);
if (canUseApt()) {
  process.stderr.write(`imlm-native: installing ${kPackages.join(' ')} for the parity, analysis and demo tests\n`);
  if (aptInstall(kPackages) && ready()) process.exit(0);
}
process.stderr.write(
  `imlm-native: the parity, analysis and demo tests need PyTorch, SciPy and scikit-learn for Python and Fashion-MNIST: run ` +
    `\`sudo apt-get install ${kPackages.join(' ')}\` (or set IMLM_PYTHON to a python with torch, torchvision, scipy and sklearn)\n`,
);
