/**
 * torchvision's own ResNet state dict (ImageNet-shaped: 3 input channels, a 1000-class fc),
 * written by Python's torchvision through the reference's safetensors writer — the file a user
 * converts from ImageNet weights and passes to `train --init`.
 */
import { spawnSync } from 'child_process';
import path from 'path';
import { findTorchPython } from './python';
import { repoRoot } from './run';

export function writeTorchvisionWeights(file: string, arch = 'resnet18', seed = 0): void {
  const py = findTorchPython();
  if (!py) throw new Error('this test needs PyTorch for Python: apt-get install python3-torch python3-torchvision');
  const write = [
    'import sys, torch, torchvision',
    `sys.path.insert(0, ${JSON.stringify(path.join(repoRoot, 'scripts/reference'))})`,
    'import safetensors_io',
    `torch.manual_seed(${seed})`,
    `safetensors_io.save(${JSON.stringify(file)}, torchvision.models.${arch}().state_dict())`,
  ].join('\n');
  const out = spawnSync(py.python, ['-c', write], { encoding: 'utf8' });
  if (out.status !== 0) throw new Error(`writing torchvision weights failed: ${out.stderr}`);
}

/** conv1.weight [O, C, k, k] summed over C, in float32 as the values are stored: [O, 1, k, k] flattened. */
export function channelSum(values: Float32Array, shape: number[]): Float32Array {
  const [o, c, kh, kw] = shape;
  const plane = kh * kw;
  const out = new Float32Array(o * plane);
  for (let i = 0; i < o; i++) {
    for (let j = 0; j < plane; j++) {
      let s = 0;
      for (let ch = 0; ch < c; ch++) s += values[(i * c + ch) * plane + j];
      out[i * plane + j] = s;
    }
  }
  return out;
}
