// ResNet-101 and ResNet-152: torchvision's own state dict for each (written by Python's
// torchvision, head removed) loads into a trainer strictly — every name and shape must match —
// and the trainer exports exactly those names and shapes back.
import { spawnSync } from 'child_process';
import { mkdtempSync } from 'fs';
import os from 'os';
import path from 'path';
import { Trainer, readSafetensors } from '../../lib';
import { tinyConfig } from '../helpers/configs';
import { findTorchPython } from '../helpers/python';
import { repoRoot } from '../helpers/run';

describe.each(['resnet101', 'resnet152'] as const)('%s', (arch) => {
  test('loads torchvision\'s state by name and shape and exports the same names and shapes', async () => {
    const py = findTorchPython();
    if (!py) throw new Error('this test needs PyTorch for Python: apt-get install python3-torch python3-torchvision');
    const dir = mkdtempSync(path.join(os.tmpdir(), `imlm-${arch}-`));
    const theirs = path.join(dir, `${arch}-torchvision.safetensors`);
    const write = [
      'import sys, torchvision',
      `sys.path.insert(0, ${JSON.stringify(path.join(repoRoot, 'scripts/reference'))})`,
      'import safetensors_io',
      `state = {k: v for k, v in torchvision.models.${arch}().state_dict().items() if not k.startswith("fc.")}`,
      `safetensors_io.save(${JSON.stringify(theirs)}, state)`,
    ].join('\n');
    const out = spawnSync(py.python, ['-c', write], { encoding: 'utf8' });
    expect(out.stderr).toBe('');
    expect(out.status).toBe(0);

    const trainer = await Trainer.create(tinyConfig({ arch, stem: 'standard', imageSize: 32 }));
    await trainer.loadBackbone(theirs); // strict: a missing, extra or misshapen tensor rejects
    const ours = path.join(dir, `${arch}-ours.safetensors`);
    await trainer.exportBackbone(ours);
    const a = await readSafetensors(theirs);
    const b = await readSafetensors(ours);
    const shapes = (f: typeof a) => Object.fromEntries(Object.entries(f.tensors).map(([k, t]) => [k, t.shape]));
    expect(shapes(b)).toEqual(shapes(a));
    expect(b.metadata.arch).toBe(arch);
    const name = 'layer3.22.conv2.weight'; // ResNet-101 has 23 blocks in layer3, ResNet-152 36
    expect(Array.from(b.tensors[name].toTypedArray() as Float32Array)).toEqual(Array.from(a.tensors[name].toTypedArray() as Float32Array));
  });
});
