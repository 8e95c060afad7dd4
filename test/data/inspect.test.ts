// `imlm-native inspect`: counts per split and class, and contact sheets whose tiles are the
// store's pixels (samples) and the trainer's augmentation (views).
import { mkdtempSync, existsSync, readFileSync } from 'fs';
import os from 'os';
import path from 'path';
import sharp from 'sharp';
import { inspectStore, kMinTileSide } from '../../lib/data/inspect';
import { writeStore } from '../../lib/data/store';
import { runCli } from '../helpers/run';

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'imlm-inspect-'));
const side = 16;

/** A 3-channel multiclass store: 12 train (4 per class), 3 val; pixel values encode (sample, channel). */
async function multiclassStore(): Promise<{ dir: string; train: Uint8Array }> {
  const dir = path.join(tmp(), 'store');
  const pixels = side * side * 3;
  const images = (n: number, base: number) => Uint8Array.from({ length: n * pixels }, (_, i) => (base + Math.floor(i / pixels) * 20 + Math.floor((i % pixels) / (side * side)) * 5 + (i % 7)) % 256);
  const train = images(12, 0);
  await writeStore(dir, {
    manifest: {
      sourceFormat: 'test', source: dir, task: 'multiclass', classes: ['a', 'b', 'c'], channels: 3, imageSize: [side, side],
      splitMethod: 'fixture', seed: 0, preparation: {}, skipped: [{ file: 'x.png', reason: 'corrupt' }],
    },
    splits: {
      train: { images: train, labels: BigInt64Array.from({ length: 12 }, (_, i) => BigInt(i % 3)), ids: BigInt64Array.from({ length: 12 }, (_, i) => BigInt(100 + i)) },
      val: { images: images(3, 7), labels: BigInt64Array.from([0n, 0n, 2n]), ids: BigInt64Array.from([200n, 201n, 202n]) },
    },
  });
  return { dir, train };
}

describe('inspect', () => {
  test('counts per split and class, without pictures', async () => {
    const { dir } = await multiclassStore();
    const result = await inspectStore(dir);
    expect(result.splits.train).toEqual({ count: 12, perClass: { a: 4, b: 4, c: 4 } });
    expect(result.splits.val).toEqual({ count: 3, perClass: { a: 2, b: 0, c: 1 } });
    expect(result.skipped).toBe(1);
    expect(result.files).toEqual([]);
  });

  test('multilabel: positives per class and samples with no label', async () => {
    const dir = path.join(tmp(), 'ml');
    await writeStore(dir, {
      manifest: { sourceFormat: 'test', source: dir, task: 'multilabel', classes: ['x', 'y'], channels: 1, imageSize: [4, 4], splitMethod: 'fixture', seed: 0, preparation: {}, skipped: [] },
      splits: { train: { images: new Uint8Array(4 * 16), labels: Uint8Array.from([1, 1, 0, 1, 0, 0, 1, 0]), ids: BigInt64Array.from([0n, 1n, 2n, 3n]) } },
    });
    expect((await inspectStore(dir)).splits.train).toEqual({ count: 4, perClass: { x: 2, y: 2 }, noLabel: 1 });
  });

  test('the sample sheet shows the store pixels; the views sheet shows original | view | view', async () => {
    const { dir, train } = await multiclassStore();
    const out = path.join(tmp(), 'sheets');
    const result = await inspectStore(dir, { out, samples: 4, pairs: 2, policy: 'kaku2021-bch', seed: 3 });
    expect(result.files.map((f) => path.basename(f))).toEqual(['samples.png', 'views.png', 'legend.json']);
    const legend = JSON.parse(readFileSync(path.join(out, 'legend.json'), 'utf8'));
    expect(legend.samples.tiles).toHaveLength(4);
    expect(legend.views.tiles).toHaveLength(2);
    const factor = Math.ceil(kMinTileSide / side);
    const sheet = await sharp(path.join(out, 'samples.png')).raw().toBuffer({ resolveWithObject: true });
    // 2×2 tiles of 16² with 2-pixel gaps, enlarged by `factor`.
    expect(sheet.info.width).toBe((2 + 2 * (side + 2)) * factor);
    // The first tile is the legend's first sample (id 100 + row): compare pixel (5, 3), channel 1.
    const row = legend.samples.tiles[0].id - 100;
    const x = 5, y = 3;
    expect(sheet.info.channels).toBe(3);
    const sheetPixel = sheet.data[((2 + y) * factor * sheet.info.width + (2 + x) * factor) * 3 + 1];
    expect(sheetPixel).toBe(train[row * side * side * 3 + side * side + y * side + x]);
    const views = await sharp(path.join(out, 'views.png')).metadata();
    expect(views.width).toBe((2 + 6 * (side + 2)) * factor);
    expect(views.height).toBe((2 + 1 * (side + 2)) * factor);
  });

  test('CLI: --json prints one object; a missing store names the folder', async () => {
    const { dir } = await multiclassStore();
    const out = path.join(tmp(), 'cli');
    const r = await runCli(['inspect', dir, '--out', out, '--json', '--samples', '3', '--pairs', '1']);
    expect(r.code).toBe(0);
    const parsed = JSON.parse(r.stdout);
    expect(parsed.splits.train.count).toBe(12);
    expect(existsSync(path.join(out, 'views.png'))).toBe(true);
    const missing = await runCli(['inspect', path.join(out, 'nope')]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/is not a prepared data set/);
  });
});
