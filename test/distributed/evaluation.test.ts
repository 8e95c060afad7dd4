// Distributed evaluation: the process-group binding's gathers (unequal shards padded to the
// longest), `embed` over 2 ranks (built-in launcher) against one process, and `eval linear`
// over 2 ranks (torchrun's variables) against one process, cache reuse included. Real
// processes on 127.0.0.1, real files, real LibTorch.
import { existsSync, readdirSync, readFileSync } from 'fs';
import path from 'path';
import { readSafetensors } from '../../lib';
import { freePort } from '../../lib/distributed/launcher';
import { shardRows } from '../../lib/eval/sharded-features';
import { cliPath, repoRoot } from '../helpers/run';
import { writeCheckpoints, writeSyntheticStore } from '../eval/fixtures';
import { hasGloo, removeTempDirs, spawnNode, tmp, torchrunEnv } from './helpers';

const describeGloo = hasGloo() ? describe : describe.skip;
const gatherFixture = path.join(repoRoot, 'test/distributed/fixtures/gather.js');
/** No launcher variables inherited from whoever runs the tests. */
const alone = { RANK: undefined, WORLD_SIZE: undefined, SLURM_PROCID: undefined, SLURM_NTASKS: undefined };

afterAll(removeTempDirs);

async function readAll(file: string) {
  const { tensors, metadata } = await readSafetensors(file);
  const arrays = Object.fromEntries(Object.entries(tensors).map(([k, t]) => [k, { shape: t.shape, dtype: t.dtype, data: Array.from(t.toTypedArray() as ArrayLike<number | bigint>) }]));
  for (const t of Object.values(tensors)) t.dispose();
  return { arrays, metadata };
}

describe('shardRows', () => {
  test('deals whole batches out contiguously, the first ranks taking the extra ones', () => {
    expect([0, 1].map((r) => shardRows(25, 4, r, 2))).toEqual([{ start: 0, end: 16 }, { start: 16, end: 25 }]);
    expect([0, 1, 2].map((r) => shardRows(9, 4, r, 3))).toEqual([{ start: 0, end: 4 }, { start: 4, end: 8 }, { start: 8, end: 9 }]);
    // More ranks than batches: the last ones have nothing.
    expect([0, 1, 2].map((r) => shardRows(5, 4, r, 3))).toEqual([{ start: 0, end: 4 }, { start: 4, end: 5 }, { start: 5, end: 5 }]);
  });
});

describeGloo('distributed evaluation over 2 ranks', () => {
  let dir: string;
  let store: string;
  let checkpoint: string;

  beforeAll(async () => {
    dir = tmp();
    store = path.join(dir, 'store');
    // Odd counts: the shards of every split are unequal.
    await writeSyntheticStore(store, { counts: { train: 41, val: 21, test: 25 } });
    checkpoint = (await writeCheckpoints(dir)).state;
  });

  test('the process group: allGatherRows pads unequal shards, an empty shard takes the others\' columns, mismatches fail on every rank', async () => {
    const port = await freePort();
    const ranks = await Promise.all([0, 1].map((r) => spawnNode([gatherFixture], { ...alone, ...torchrunEnv(r, 2, port) }, 60000)));
    ranks.forEach((r) => expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' }));
    const [a, b] = ranks.map((r) => JSON.parse(r.stdout));
    expect(a).toMatchObject({ rank: 0, worldSize: 2, backend: 'gloo' });
    expect(b).toMatchObject({ rank: 1, worldSize: 2, backend: 'gloo' });
    // Rank 0: 1 row of 0s; rank 1: 3 rows 100, 101, 102 — in rank order, no padding rows.
    const unequal = { shape: [4, 3], dtype: 'float32', data: [0, 0, 0, 100, 100, 100, 101, 101, 101, 102, 102, 102] };
    expect(a.unequal).toEqual(unequal);
    expect(b.unequal).toEqual(unequal);
    const lastEmpty = { shape: [2, 3], dtype: 'float32', data: [0, 0, 0, 1, 1, 1] };
    expect(a.lastEmpty).toEqual(lastEmpty);
    expect(b.lastEmpty).toEqual(lastEmpty);
    expect(a.equal).toEqual({ shape: [4], dtype: 'int64', data: [0, 7, 1, 7] });
    for (const r of [a, b]) {
      expect(r.mismatch.code).toBe('ERR_INVALID_ARG');
      expect(r.mismatch.message).toMatch(/rank 0 sends \[n, 2\] of Float but rank 1 sends \[n, 3\] of Float/);
      expect(r.second).toBe('ERR_BUSY');
      expect(r.afterClose).toBe('ERR_DISPOSED');
      expect(r.closed).toBe(true);
    }
  }, 60000);

  test('embed with --nproc-per-node 2 writes the tensors of a 1-process embed exactly, in id order; rank 1 writes nothing', async () => {
    const flags = ['--checkpoint', checkpoint, '--data', store, '--split', 'test', '--batch-size', '4', '--device', 'cpu', '--threads', '1', '--json'];
    const oneDir = tmp();
    const twoDir = tmp();
    const one = await spawnNode([cliPath, 'embed', ...flags, '--out', path.join(oneDir, 'features.safetensors')], alone, 60000);
    expect(one.code).toBe(0);
    const two = await spawnNode([cliPath, 'embed', ...flags, '--out', path.join(twoDir, 'features.safetensors'), '--nproc-per-node', '2'], alone, 60000);
    expect(two.stderr).toMatch(/started 2 ranks on 127\.0\.0\.1:\d+/);
    expect(two.stderr).toMatch(/rank 0 of 2 \(torchrun, master 127\.0\.0\.1:\d+, gloo\)/);
    expect(two.code).toBe(0);
    // One JSON line: rank 0 alone reports.
    const lines = two.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0])).toMatchObject({ count: 25, written: true, blockChannels: [64, 128, 256, 512], embeddingDim: 32 });
    expect(readdirSync(twoDir)).toEqual(['features.safetensors']);

    const expected = await readAll(path.join(oneDir, 'features.safetensors'));
    const actual = await readAll(path.join(twoDir, 'features.safetensors'));
    expect(Object.keys(actual.arrays).sort()).toEqual(['block1', 'block2', 'block3', 'block4', 'embedding', 'ids', 'labels']);
    for (const key of Object.keys(expected.arrays)) expect({ key, ...actual.arrays[key] }).toEqual({ key, ...expected.arrays[key] });
    const { created: _a, ...metaTwo } = actual.metadata;
    const { created: _b, ...metaOne } = expected.metadata;
    expect(metaTwo).toEqual(metaOne);
    // The split's id order (the store's).
    const ids = actual.arrays.ids.data.map(Number);
    expect(ids).toEqual([...ids].sort((x, y) => x - y));
  }, 120000);

  test("eval linear under torchrun's variables gives rank 0 the numbers of one process; rank 1 exits 0 quietly; a rerun reuses the cache", async () => {
    const flags = ['--checkpoint', checkpoint, '--data', store, '--device', 'cpu', '--threads', '1', '--feature-batch-size', '8', '--json'];
    const oneDir = path.join(tmp(), 'one');
    const twoDir = path.join(tmp(), 'two');
    const one = await spawnNode([cliPath, 'eval', 'linear', ...flags, '--out', oneDir], alone, 60000);
    expect(one.code).toBe(0);
    const runTwo = async () => {
      const port = await freePort();
      return Promise.all([0, 1].map((r) => spawnNode([cliPath, 'eval', 'linear', ...flags, '--out', twoDir], { ...alone, ...torchrunEnv(r, 2, port) }, 60000)));
    };
    const ranks = await runTwo();
    ranks.forEach((r, rank) => expect({ rank, code: r.code }).toEqual({ rank, code: 0 }));
    expect(ranks[1].stdout).toBe('');
    const numbers = (file: string) => {
      const { seconds: _s, created: _c, outDir: _o, results: _r, featuresCached, blocks, ...rest } = JSON.parse(readFileSync(file, 'utf8'));
      return { ...rest, blocks: blocks.map(({ predictions: _p, sweep, ...b }: { predictions: string; sweep: Array<{ seconds: number }> }) => ({ ...b, sweep: sweep.map(({ seconds: _t, ...p }) => p) })), featuresCached };
    };
    const expected = numbers(path.join(oneDir, 'results.json'));
    const actual = numbers(path.join(twoDir, 'results.json'));
    expect(actual).toEqual(expected);
    expect(actual.featuresCached).toEqual({ train: false, val: false, test: false });
    expect(actual.counts).toEqual({ train: 41, val: 21, test: 25 });
    for (const split of ['train', 'val', 'test']) {
      const a = await readAll(path.join(twoDir, 'features', `${split}.safetensors`));
      const b = await readAll(path.join(oneDir, 'features', `${split}.safetensors`));
      expect(a.arrays).toEqual(b.arrays);
    }
    expect((await readAll(path.join(twoDir, 'predictions-test.safetensors'))).arrays).toEqual((await readAll(path.join(oneDir, 'predictions-test.safetensors'))).arrays);

    // Rank 0 finds its cache and tells rank 1, which then computes nothing.
    const again = await runTwo();
    again.forEach((r, rank) => expect({ rank, code: r.code }).toEqual({ rank, code: 0 }));
    const cachedRun = numbers(path.join(twoDir, 'results.json'));
    expect(cachedRun.featuresCached).toEqual({ train: true, val: true, test: true });
    expect(cachedRun.forwardedRows).toEqual({ train: 0, val: 0, test: 0 });
    expect({ ...cachedRun, featuresCached: null, forwardedRows: null }).toEqual({ ...expected, featuresCached: null, forwardedRows: null });
    expect(existsSync(path.join(twoDir, 'features', 'train.safetensors'))).toBe(true);
  }, 180000);
});
