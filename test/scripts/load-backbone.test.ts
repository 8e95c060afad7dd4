// scripts/load_backbone.py: a backbone written by imlm-native loads strictly into the matching
// torchvision model (small or standard stem, 1 channel) and, with the documented input
// convention (x/255, bilinear resize, no mean/std), gives `embed`'s block features.
import { spawnSync } from 'child_process';
import { mkdtempSync, rmSync } from 'fs';
import os from 'os';
import path from 'path';
import { Trainer, embed, readSafetensors, syntheticSource } from '../../lib';
import type { Arch } from '../../lib/config/archs';
import { writeSyntheticStore } from '../eval/fixtures';
import { tinyConfig } from '../helpers/configs';
import { findTorchPython } from '../helpers/python';
import { repoRoot } from '../helpers/run';

async function blocks(file: string): Promise<Float32Array[]> {
  const { tensors } = await readSafetensors(file);
  const out = [1, 2, 3, 4].map((k) => tensors[`block${k}`].toTypedArray() as Float32Array);
  for (const t of Object.values(tensors)) t.dispose();
  return out;
}

let dir: string;
let store: string;
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'imlm-load-backbone-'));
  store = path.join(dir, 'store');
  await writeSyntheticStore(store, { counts: { train: 8, val: 4, test: 12 } });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.each([
  ['the demo network (ResNet-18, small stem, 1 channel, 32×32)', 'resnet18', 'small'],
  ['a ResNet-50 with the standard stem', 'resnet50', 'standard'],
] as [string, Arch, 'small' | 'standard'][])('%s', (_what, arch, stem) => {
  test('loads into torchvision and reproduces embed\'s block features to 1e-5', async () => {
    const py = findTorchPython();
    if (!py) throw new Error('this test needs PyTorch for Python: apt-get install python3-torch python3-torchvision');
    // A few steps so BatchNorm's running statistics are not the identity.
    const trainer = await Trainer.create(tinyConfig({ arch, stem, inChannels: 1, imageSize: 32, seed: 3 }));
    await trainer.run(syntheticSource({ channels: 1, imageSize: 32, batchSize: 8, poolSize: 16, seed: 3, prefetch: 0 }), { steps: 2 });
    const backbone = path.join(dir, `${arch}-backbone.safetensors`);
    await trainer.exportBackbone(backbone);
    const { tensors, metadata } = await readSafetensors(backbone);
    for (const t of Object.values(tensors)) t.dispose();
    // What a reader needs to rebuild the network and feed it, recorded beside the weights.
    expect(metadata).toMatchObject({ format: 'imlm-native/backbone', arch, stem, in_channels: '1', image_size: '32', input: expect.stringContaining('/ 255') });

    const ours = path.join(dir, `${arch}-ours.safetensors`);
    await embed({ checkpoint: backbone, store, split: 'test', out: ours, device: 'cpu', imageSize: 32 });
    const theirs = path.join(dir, `${arch}-torchvision.safetensors`);
    const r = spawnSync(
      py.python,
      [path.join(repoRoot, 'scripts/load_backbone.py'), backbone, '--images', path.join(store, 'test.safetensors'), '--out', theirs, '--image-size', '32'],
      { encoding: 'utf8' },
    );
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);

    const a = await blocks(ours);
    const b = await blocks(theirs);
    for (let k = 0; k < 4; k++) {
      expect(b[k].length).toBe(a[k].length);
      let worst = 0;
      for (let i = 0; i < a[k].length; i++) worst = Math.max(worst, Math.abs(a[k][i] - b[k][i]));
      expect(worst).toBeLessThanOrEqual(1e-5);
    }
  });
});
