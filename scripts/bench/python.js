'use strict';
// Finds a Python that has PyTorch (the reference and the parity tests need one): IMLM_PYTHON,
// PYTHON, /usr/bin/python3 (Debian's python3-torch), python3.
const { spawnSync } = require('child_process');

function findTorchPython() {
  const candidates = [process.env.IMLM_PYTHON, process.env.PYTHON, '/usr/bin/python3', 'python3'].filter(Boolean);
  for (const python of [...new Set(candidates)]) {
    const r = spawnSync(python, ['-c', 'import torch, torchvision; print(torch.__version__)'], { encoding: 'utf8' });
    if (r.status === 0) return { python, torchVersion: r.stdout.trim() };
  }
  return null;
}

module.exports = { findTorchPython };
