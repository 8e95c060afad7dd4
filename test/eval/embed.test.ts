// `embed` and the features file: shapes, ids and labels in the store's order, equality with an
// independent forward (the torchvision reference network), eval-mode batch independence.
import { spawnSync } from 'child_process';
import { mkdtempSync, rmSync } from 'fs';
import os from 'os';
import path from 'path';
import { embed, linearProbe, readSafetensors } from '../../lib';
import { settledLiveTensorCount } from '../helpers/live-tensors';
import { findTorchPython } from '../helpers/python';
import { repoRoot } from '../helpers/run';
import { writeCheckpoints, writeSyntheticStore } from './fixtures';

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'imlm-embed-'));

async function read(file: string) {
  const { tensors, metadata } = await readSafetensors(file);
  const arrays = Object.fromEntries(Object.entries(tensors).map(([k, t]) => [k, { shape: t.shape, dtype: t.dtype, data: t.toTypedArray() }]));
  for (const t of Object.values(tensors)) t.dispose();
  return { arrays, metadata };
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('embed', () => {
  let dir: string;
  let store: string;
  let checkpoints: { state: string; backbone: string };

  beforeAll(async () => {
    dir = tmp();
    store = path.join(dir, 'store');
    await writeSyntheticStore(store, { counts: { train: 40, val: 20, test: 30 } });
    checkpoints = await writeCheckpoints(dir);
  });

  // Checkpoints are tens of MB (fine-tuning states ~135 MB): leave nothing behind in /tmp.
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('writes block features, the embedding, ids and labels of the split in the store order', async () => {
    const out = path.join(dir, 'test-features.safetensors');
    const result = await embed({ checkpoint: checkpoints.state, store, split: 'test', out, device: 'cpu' });
    expect(result).toMatchObject({ count: 30, blockChannels: [64, 128, 256, 512], embeddingDim: 32, arch: 'resnet18', checkpointKind: 'train-state', imageSize: 8 });
    const { arrays, metadata } = await read(out);
    expect(metadata).toMatchObject({ format: 'imlm-native/features', format_version: '1', task: 'multiclass', arch: 'resnet18', split: 'test' });
    expect(JSON.parse(metadata.classes)).toEqual(['class0', 'class1', 'class2']);
    [64, 128, 256, 512].forEach((c, k) => expect(arrays[`block${k + 1}`]).toMatchObject({ shape: [30, c], dtype: 'float32' }));
    expect(arrays.embedding.shape).toEqual([30, 32]);
    const e = arrays.embedding.data as Float32Array;
    for (let i = 0; i < 30; i++) {
      const norm = Math.hypot(...e.subarray(i * 32, (i + 1) * 32));
      expect(norm).toBeCloseTo(1, 5);
    }
    const shard = await read(path.join(store, 'test.safetensors'));
    expect(arrays.ids.dtype).toBe('int64');
    expect(Array.from(arrays.ids.data as BigInt64Array)).toEqual(Array.from(shard.arrays.ids.data as BigInt64Array));
    expect(Array.from(arrays.labels.data as BigInt64Array)).toEqual(Array.from(shard.arrays.labels.data as BigInt64Array));
  });

  test('a backbone file gives the same block features and no embedding', async () => {
    const fromState = path.join(dir, 'state.safetensors');
    const fromBackbone = path.join(dir, 'backbone-features.safetensors');
    await embed({ checkpoint: checkpoints.state, store, split: 'val', out: fromState, device: 'cpu' });
    const result = await embed({ checkpoint: checkpoints.backbone, store, split: 'val', out: fromBackbone, device: 'cpu', imageSize: 8 });
    expect(result.embeddingDim).toBeNull();
    const a = await read(fromState);
    const b = await read(fromBackbone);
    expect(b.arrays.embedding).toBeUndefined();
    for (let k = 1; k <= 4; k++) expect(maxAbsDiff(a.arrays[`block${k}`].data as Float32Array, b.arrays[`block${k}`].data as Float32Array)).toBe(0);
  });

  test('eval mode: a sample\'s features do not depend on the batch it runs in', async () => {
    // In train mode BatchNorm would normalise with each batch's statistics (the reference probes' bug).
    const small = path.join(dir, 'batch3.safetensors');
    const large = path.join(dir, 'batch30.safetensors');
    await embed({ checkpoint: checkpoints.state, store, split: 'test', out: small, device: 'cpu', batchSize: 3 });
    await embed({ checkpoint: checkpoints.state, store, split: 'test', out: large, device: 'cpu', batchSize: 30 });
    const a = await read(small);
    const b = await read(large);
    for (const name of ['block1', 'block2', 'block3', 'block4', 'embedding']) {
      expect(maxAbsDiff(a.arrays[name].data as Float32Array, b.arrays[name].data as Float32Array)).toBeLessThan(1e-5);
    }
  });

  test('equals the torchvision reference network run in eval mode on the same weights', async () => {
    const python = findTorchPython();
    if (!python) throw new Error('this test needs PyTorch for Python: apt-get install python3-torch python3-torchvision');
    const out = path.join(dir, 'ours.safetensors');
    const reference = path.join(dir, 'reference.safetensors');
    await embed({ checkpoint: checkpoints.state, store, split: 'test', out, device: 'cpu', imageSize: 12 });
    const r = spawnSync(
      python.python,
      [path.join(repoRoot, 'scripts/reference/embed.py'), '--state', checkpoints.state, '--images', path.join(store, 'test.safetensors'), '--out', reference, '--image-size', '12'],
      { encoding: 'utf8', cwd: path.join(repoRoot, 'scripts/reference') },
    );
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const ours = await read(out);
    const theirs = await read(reference);
    for (const name of ['block1', 'block2', 'block3', 'block4', 'embedding']) {
      expect(ours.arrays[name].shape).toEqual(theirs.arrays[name].shape);
      expect(maxAbsDiff(ours.arrays[name].data as Float32Array, theirs.arrays[name].data as Float32Array)).toBeLessThan(1e-4);
    }
  });

  test('embed and the probes free every tensor they create', async () => {
    const before = await settledLiveTensorCount();
    await embed({ checkpoint: checkpoints.state, store, split: 'test', out: path.join(dir, 'leak.safetensors'), device: 'cpu' });
    await linearProbe({ checkpoint: checkpoints.state, store, outDir: path.join(dir, 'leak'), device: 'cpu', sweep: [{ weightDecay: 1e-3 }] });
    await linearProbe({ checkpoint: checkpoints.state, store, outDir: path.join(dir, 'leak'), device: 'cpu', sweep: [{ weightDecay: 1e-3 }] }); // from the cache
    expect(await settledLiveTensorCount()).toBe(before);
  });

  test('refuses a file that is not a checkpoint, naming it', async () => {
    const notCheckpoint = path.join(store, 'test.safetensors');
    await expect(embed({ checkpoint: notCheckpoint, store, split: 'test', out: path.join(dir, 'x.safetensors'), device: 'cpu' })).rejects.toMatchObject({
      code: 'ERR_FORMAT',
      message: expect.stringContaining('neither a training state'),
    });
  });
});
