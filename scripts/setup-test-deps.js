#!/usr/bin/env node
'use strict';
// Part of `npm test` (pretest): the parity tests need a Python with PyTorch and torchvision
// (scripts/reference/), the demo and data tests Debian's Fashion-MNIST. On Debian as root,
// install what is missing with apt; otherwise say what to install (the tests that need it then
// fail with the same message).
const fs = require('fs');
const { findTorchPython } = require('./bench/python');
const { canUseApt, aptInstall } = require('./apt');

const kPackages = ['python3-torch', 'python3-torchvision', 'dataset-fashion-mnist'];
const kFashionMnist = '/usr/share/datasets/fashion-mnist';
const ready = () => findTorchPython() && fs.existsSync(kFashionMnist);

if (ready()) process.exit(0);
if (canUseApt()) {
  process.stderr.write(`imlm-native: installing ${kPackages.join(' ')} for the parity and demo tests\n`);
  if (aptInstall(kPackages) && ready()) process.exit(0);
}
process.stderr.write(
  `imlm-native: the parity and demo tests need PyTorch for Python and Fashion-MNIST: run ` +
    `\`sudo apt-get install ${kPackages.join(' ')}\` (or set IMLM_PYTHON to a python with torch and torchvision)\n`,
);
