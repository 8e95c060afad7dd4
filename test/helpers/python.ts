/** A Python with PyTorch and torchvision (for the reference), or null. */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { findTorchPython } = require('../../scripts/bench/python.js') as {
  findTorchPython(): { python: string; torchVersion: string } | null;
};
export { findTorchPython };
