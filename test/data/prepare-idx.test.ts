// `prepare idx`: IDX files into a store whose pixels equal the source bytes.
import { gzipSync } from 'zlib';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'fs';
import os from 'os';
import path from 'path';
import { prepareIdx } from '../../lib/data/prepare-idx';
import { readIdx } from '../../lib/data/idx';
import { loadSplit, readManifest } from '../../lib/data/store';
import { spawnSync } from 'child_process';
import { repoRoot, runCli } from '../helpers/run';
import { findTorchPython } from '../helpers/python';

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'imlm-idx-'));

function idx(shape: number[], data: Uint8Array): Buffer {
  const header = Buffer.alloc(4 + 4 * shape.length);
  header[2] = 0x08;
  header[3] = shape.length;
  shape.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, Buffer.from(data)]);
}

/** A tiny MNIST-layout folder: 20 train and 6 test images of 4×3, 3 classes. */
function fixture(dir: string, { gzip = true } = {}) {
  mkdirSync(dir, { recursive: true });
  const write = (name: string, buf: Buffer) => writeFileSync(path.join(dir, gzip ? `${name}.gz` : name), gzip ? gzipSync(buf) : buf);
  const trainImages = Uint8Array.from({ length: 20 * 12 }, (_, i) => (i * 7) % 256);
  const testImages = Uint8Array.from({ length: 6 * 12 }, (_, i) => (i * 11 + 3) % 256);
  write('train-images-idx3-ubyte', idx([20, 4, 3], trainImages));
  write('train-labels-idx1-ubyte', idx([20], Uint8Array.from({ length: 20 }, (_, i) => i % 3)));
  write('t10k-images-idx3-ubyte', idx([6, 4, 3], testImages));
  write('t10k-labels-idx1-ubyte', idx([6], Uint8Array.from({ length: 6 }, (_, i) => (i + 1) % 3)));
  return { trainImages, testImages };
}

describe('prepare idx', () => {
  test('keeps the source division, draws a seeded validation split, and keeps every pixel and id', async () => {
    const src = path.join(tmp(), 'src');
    const { trainImages, testImages } = fixture(src);
    const out = path.join(tmp(), 'store');
    const manifest = await prepareIdx(src, out, { valFraction: 0.25, seed: 3 });
    expect(manifest).toMatchObject({ task: 'multiclass', channels: 1, imageSize: [4, 3], classes: ['0', '1', '2'], seed: 3 });
    expect(manifest.splits).toEqual({
      train: { count: 15, shard: 'train.safetensors' },
      val: { count: 5, shard: 'val.safetensors' },
      test: { count: 6, shard: 'test.safetensors' },
    });
    expect(manifest.contentHash).toMatch(/^sha256:[0-9a-f]{64}$/);
    // Label fractions of the training split, nested, with the seed.
    const fr = manifest.labelFractions!;
    expect(fr.seed).toBe(3);
    expect(fr.fractions['1']).toEqual({ count: 15 });
    const six = new Set(fr.fractions['0.06'].ids);
    expect(fr.fractions['0.01'].ids!.every((id) => six.has(id))).toBe(true);
    expect(readdirSync(path.dirname(out)).filter((f) => f.includes('.tmp-'))).toEqual([]);

    const seen = new Set<number>();
    for (const split of ['train', 'val'] as const) {
      const { images, labels, ids } = await loadSplit(out, split);
      const px = images.toTypedArray() as Uint8Array;
      const lab = labels.toTypedArray() as BigInt64Array;
      (ids.toTypedArray() as BigInt64Array).forEach((id, i) => {
        const row = Number(id);
        seen.add(row);
        expect(Buffer.from(px.subarray(i * 12, (i + 1) * 12)).equals(Buffer.from(trainImages.subarray(row * 12, (row + 1) * 12)))).toBe(true);
        expect(Number(lab[i])).toBe(row % 3);
      });
    }
    expect(seen.size).toBe(20); // train ∪ val = the source's training set, no overlap
    const test = await loadSplit(out, 'test');
    expect(Buffer.from(test.images.toTypedArray() as Uint8Array).equals(Buffer.from(testImages))).toBe(true);
    expect(Array.from(test.ids.toTypedArray() as BigInt64Array, Number)).toEqual([20, 21, 22, 23, 24, 25]);

    // The same seed gives the same split; another seed another one.
    const again = await prepareIdx(src, path.join(tmp(), 'again'), { valFraction: 0.25, seed: 3 });
    expect(again.contentHash).toBe(manifest.contentHash);
    const other = await prepareIdx(src, path.join(tmp(), 'other'), { valFraction: 0.25, seed: 4 });
    expect(other.contentHash).not.toBe(manifest.contentHash);
  });

  test("the store's shards load in Python's safetensors-compatible reader", async () => {
    const py = findTorchPython();
    if (!py) throw new Error('this test needs PyTorch for Python: apt-get install python3-torch');
    const src = path.join(tmp(), 'src');
    fixture(src);
    const out = path.join(tmp(), 'store');
    await prepareIdx(src, out, { valFraction: 0.25 });
    const script = [
      'import sys, json',
      `sys.path.insert(0, ${JSON.stringify(path.join(repoRoot, 'scripts/reference'))})`,
      'import safetensors_io',
      `t, meta = safetensors_io.load(${JSON.stringify(path.join(out, 'train.safetensors'))})`,
      'print(json.dumps({k: [str(v.dtype), list(v.shape)] for k, v in t.items()} | {"split": meta["split"]}))',
    ].join('\n');
    const r = spawnSync(py.python, ['-c', script], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({
      images: ['torch.uint8', [15, 1, 4, 3]],
      labels: ['torch.int64', [15]],
      ids: ['torch.int64', [15]],
      split: 'train',
    });
  });

  test('an existing store is refused without --overwrite; a truncated file is named', async () => {
    const src = path.join(tmp(), 'src');
    fixture(src, { gzip: false });
    const out = path.join(tmp(), 'store');
    await prepareIdx(src, out);
    await expect(prepareIdx(src, out)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG', message: expect.stringContaining('--overwrite') });
    await expect(prepareIdx(src, out, { overwrite: true })).resolves.toMatchObject({ channels: 1 });

    const bad = path.join(tmp(), 'bad');
    fixture(bad, { gzip: false });
    const file = path.join(bad, 'train-images-idx3-ubyte');
    writeFileSync(file, idx([20, 4, 3], new Uint8Array(100)));
    await expect(prepareIdx(bad, path.join(tmp(), 'x'))).rejects.toMatchObject({
      code: 'ERR_FORMAT',
      message: `${file}: shape [20, 4, 3] needs 240 bytes of data but the file holds 100 (truncated?)`,
    });
    await expect(readManifest(bad)).rejects.toMatchObject({ code: 'ERR_FORMAT' });
  });

  const fashion = '/usr/share/datasets/fashion-mnist';
  test('Fashion-MNIST (Debian package): 60,000 train+val / 10,000 test images equal to the IDX bytes', async () => {
    if (!existsSync(fashion)) throw new Error(`${fashion} is missing: apt-get install dataset-fashion-mnist (npm test does it when run as root)`);
    const out = path.join(tmp(), 'fmnist');
    const r = await runCli(['prepare', 'idx', fashion, out, '--json']);
    expect(r.code).toBe(0);
    const manifest = JSON.parse(r.stdout);
    expect(manifest.splits.train.count + manifest.splits.val.count).toBe(60000);
    expect(manifest.splits.test.count).toBe(10000);
    expect(manifest.classes[9]).toBe('Ankle boot');
    expect(manifest.labelFractions.fractions['0.01'].count).toBe(540); // 1% of 54,000, 54 per class
    expect(manifest.labelFractions.fractions['0.06'].count).toBe(3240);
    const source = await readIdx(path.join(fashion, 'train-images-idx3-ubyte.gz'));
    const labels = await readIdx(path.join(fashion, 'train-labels-idx1-ubyte.gz'));
    for (const split of ['train', 'val'] as const) {
      const { images, labels: lab, ids } = await loadSplit(out, split);
      const px = images.toTypedArray() as Uint8Array;
      const l = lab.toTypedArray() as BigInt64Array;
      (ids.toTypedArray() as BigInt64Array).forEach((id, i) => {
        const row = Number(id);
        if (Buffer.compare(px.subarray(i * 784, (i + 1) * 784), source.data.subarray(row * 784, (row + 1) * 784)) !== 0) {
          throw new Error(`pixels of ${split}[${i}] (source row ${row}) differ`);
        }
        if (Number(l[i]) !== labels.data[row]) throw new Error(`label of source row ${row} differs`);
      });
    }
    const test = await loadSplit(out, 'test');
    const testSource = await readIdx(path.join(fashion, 't10k-images-idx3-ubyte.gz'));
    expect(Buffer.compare(test.images.toTypedArray() as Uint8Array, testSource.data)).toBe(0);
  }, 120000);

  test('an unknown format names the ones there are', async () => {
    const r = await runCli(['prepare', 'mnist', '/nowhere', '/tmp/nowhere']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/ERR_INVALID_ARG: Expected a format among idx, nih-cxr14, eyepacs-dr, bch-idc, folder, csv, unlabeled, dicom but received 'mnist'/);
  });
});
