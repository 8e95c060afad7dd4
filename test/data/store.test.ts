// The store's shards: the streaming writer (rows in any order, gaps of skipped rows closed) and
// loadSplit's refusal of shards that disagree with the manifest or are truncated.
import { mkdtempSync, readFileSync, truncateSync, writeFileSync } from 'fs';
import os from 'os';
import path from 'path';
import { prepareImages } from '../../lib/data/prepare-images';
import { readSafetensors } from '../../lib/safetensors';
import { ShardWriter } from '../../lib/data/shard-writer';
import { loadSplit } from '../../lib/data/store';
import { uniformImage } from './fixtures';

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'imlm-store-'));

describe('ShardWriter', () => {
  test('rows written out of order, some never written: finish keeps the written ones in slot order', async () => {
    const file = path.join(tmp(), 'x.safetensors');
    const w = await ShardWriter.create(file, 7, { channels: 1, height: 2, width: 3, labelWidth: 2 }, { split: 'train' });
    const row = (v: number) => new Uint8Array(6).fill(v);
    await Promise.all([6, 0, 3, 2, 5].map((slot) => w.writeRow(slot, row(slot * 10 + 1))));
    const kept = [0, 2, 3, 5, 6];
    await w.finish(kept, BigInt64Array.from(kept, BigInt), Uint8Array.from(kept.flatMap((k) => [k % 2, 1])), BigInt64Array.from(kept, (k) => BigInt(k * 100)));
    const { tensors, metadata } = await readSafetensors(file);
    expect(metadata).toEqual({ split: 'train' });
    expect(tensors.images.shape).toEqual([5, 1, 2, 3]);
    expect(Array.from(tensors.images.toTypedArray() as Uint8Array)).toEqual(kept.flatMap((k) => new Array(6).fill(k * 10 + 1)));
    expect(Array.from(tensors.ids.toTypedArray() as BigInt64Array, Number)).toEqual(kept);
    expect(Array.from(tensors.labels.toTypedArray() as Uint8Array)).toEqual(kept.flatMap((k) => [k % 2, 1]));
    expect(Array.from(tensors.patients.toTypedArray() as BigInt64Array, Number)).toEqual(kept.map((k) => k * 100));
    for (const t of Object.values(tensors)) t.dispose();
  });
});

describe('loadSplit', () => {
  let store: string;
  beforeAll(async () => {
    const src = tmp();
    await Promise.all(Array.from({ length: 6 }, (_, i) => uniformImage(path.join(src, i % 2 ? 'a' : 'b', `${i}.png`), 4, 4, 1, i)));
    store = path.join(tmp(), 's');
    await prepareImages('folder', src, store, { size: 4, shares: { train: 1, val: 0, test: 0 }, channels: 1 });
  });

  test('a manifest that disagrees with the shard is refused, naming both files and the tensor', async () => {
    const copy = path.join(tmp(), 'c');
    require('fs').cpSync(store, copy, { recursive: true });
    const manifestFile = path.join(copy, 'manifest.json');
    const manifest = JSON.parse(readFileSync(manifestFile, 'utf8'));
    manifest.splits.train.count = 5;
    manifest.imageSize = [4, 4];
    delete manifest.labelFractions; // its counts would disagree with 5 first
    writeFileSync(manifestFile, JSON.stringify(manifest));
    await expect(loadSplit(copy, 'train')).rejects.toMatchObject({
      code: 'ERR_FORMAT',
      message: expect.stringContaining(`${path.join(copy, 'train.safetensors')} disagrees with ${manifestFile}: 'images' is uint8 [6, 1, 4, 4] (expected uint8 [5, 1, 4, 4])`),
    });
    manifest.splits.train.count = 6;
    manifest.task = 'multilabel';
    writeFileSync(manifestFile, JSON.stringify(manifest));
    await expect(loadSplit(copy, 'train')).rejects.toMatchObject({ code: 'ERR_FORMAT', message: expect.stringContaining("'labels' is int64 [6] (expected uint8 [6, 2])") });
  });

  test('a truncated shard is refused with an error naming the file', async () => {
    const copy = path.join(tmp(), 't');
    require('fs').cpSync(store, copy, { recursive: true });
    const shard = path.join(copy, 'train.safetensors');
    truncateSync(shard, require('fs').statSync(shard).size - 20);
    await expect(loadSplit(copy, 'train')).rejects.toMatchObject({ code: 'ERR_FORMAT', message: expect.stringContaining(shard) });
  });

  test('a whole store loads with patients', async () => {
    const { images, labels, ids, patients } = await loadSplit(store, 'train', { patients: true });
    expect([images.shape, labels.shape, ids.shape, patients!.shape]).toEqual([[6, 1, 4, 4], [6], [6], [6]]);
    for (const t of [images, labels, ids, patients!]) t.dispose();
  });
});
