// Setting up a pre-training run (lib/train/train-run.ts): data choice, configuration layers, checks,
// data.json and the source — with the real addon, real stores and real run folders.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'fs';
import os from 'os';
import path from 'path';
import { demoOverlay, kaku2021 } from '../../lib/config/train-config';
import { prepareIdx } from '../../lib/data/prepare-idx';
import { readManifest } from '../../lib/data/store';
import { lastCheckpointPath } from '../../lib/run-folder';
import {
  checkBatchAcrossRanks,
  checkChannels,
  checkNewTrainRun,
  checkResumableTrainRun,
  chooseTrainData,
  createTrainSource,
  dataJsonPath,
  describeTrainRun,
  prepareTrainRun,
  readDataChoice,
  resolveRunConfig,
} from '../../lib/train/train-run';
import { writeIdxFolder } from '../helpers/idx-folder';
import { rejection } from '../helpers/rejection';

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'imlm-train-run-'));
const small = { arch: 'resnet18', stem: 'small', imageSize: 16, batchSize: 8, queueSize: 64, device: 'cpu' } as const;

let store: string;
beforeAll(async () => {
  const src = path.join(tmp(), 'src');
  writeIdxFolder(src); // 16×16 grey
  store = path.join(tmp(), 'store');
  await prepareIdx(src, store);
});

describe('data choice', () => {
  test('a given store is used by its absolute path', async () => {
    const relative = path.relative(process.cwd(), store);
    await expect(chooseTrainData({ data: relative, augment: 'none' })).resolves.toEqual({ kind: 'store', store, demo: false, augment: 'none' });
  });

  test('without data: the demo store when one is found, else the synthetic set', async () => {
    await expect(chooseTrainData({ demoStore: async () => store })).resolves.toEqual({ kind: 'store', store, demo: true, augment: 'mocov2' });
    await expect(chooseTrainData({ demoStore: async () => null })).resolves.toEqual({ kind: 'synthetic', demo: true, augment: 'mocov2' });
  });

  test("data.json is checked field by field, naming the file and field", async () => {
    const dir = tmp();
    writeFileSync(dataJsonPath(dir), JSON.stringify({ kind: 'weird' }));
    const e = await rejection(readDataChoice(dir));
    expect(e.code).toBe('ERR_FORMAT');
    expect(e.message).toMatch(/data\.json: Expected 'store' or 'synthetic' for kind but received "weird"/);
    writeFileSync(dataJsonPath(dir), JSON.stringify({ kind: 'store', store, demo: 'no', augment: 'mocov2' }));
    expect((await rejection(readDataChoice(dir))).message).toMatch(/Expected true or false for demo/);
  });
});

describe('configuration layers', () => {
  test('preset ← overlay ← store image side ← overrides ← store channels ← settings', () => {
    const demo = resolveRunConfig({ overlay: demoOverlay, cuda: false });
    expect(demo).toMatchObject({ arch: 'resnet18', stem: 'small', imageSize: 32, batchSize: 32, queueSize: 4096, totalSteps: 100 });
    expect(resolveRunConfig({ overlay: demoOverlay, imageSize: 28, cuda: false }).imageSize).toBe(28);
    expect(resolveRunConfig({ imageSize: 28, overrides: { imageSize: 64 }, cuda: false }).imageSize).toBe(64);
    // The store's channels win over a configuration file's; an explicit setting wins over both.
    expect(resolveRunConfig({ overrides: { inChannels: 3 }, inChannels: 1, cuda: false }).inChannels).toBe(1);
    expect(resolveRunConfig({ inChannels: 1, settings: { channels: 3 }, cuda: false }).inChannels).toBe(3);
    const c = resolveRunConfig({ overrides: { optimizer: { momentum: 0.5 } }, settings: { steps: 7, loss: 'barlow', lr: 0.1, queueSize: 128 }, cuda: false });
    expect(c).toMatchObject({ totalSteps: 7, queueSize: 128, intermediate: { loss: 'barlow' }, optimizer: { lr: 0.1, momentum: 0.5 } });
    expect(resolveRunConfig({ cuda: false }).queueSize).toBe(kaku2021.queueSize);
  });

  test('a value is validated once, by the schema of the resolved configuration', () => {
    expect(() => resolveRunConfig({ settings: { queueSize: 0 }, cuda: false })).toThrow(/Expected a number >= 1 for config\.queueSize but received 0/);
    expect(() => resolveRunConfig({ settings: { channels: 2 }, cuda: false })).toThrow(/config\.inChannels/);
    expect(() => resolveRunConfig({ preset: 'simclr', cuda: false })).toThrow(/Expected a preset 'kaku2021' or 'mocov2' but received 'simclr'/);
  });
});

describe('checks', () => {
  test('channels and the batch across ranks', async () => {
    const manifest = await readManifest(store);
    const config = resolveRunConfig({ settings: { ...small, channels: 3 }, cuda: false });
    expect(() => checkChannels(manifest, store, config)).toThrow(/has 1 channel\(s\) but the configuration expects inChannels 3; pass --channels 1/);
    expect(() => checkBatchAcrossRanks(config, 4, false)).not.toThrow();
    expect(() => checkBatchAcrossRanks(config, 3, false)).toThrow(/the batch size 8 is the global batch and must be divisible by the 3 ranks$/);
    expect(() => checkBatchAcrossRanks(config, 3, true)).toThrow(/resumed with another number of ranks/);
  });

  test('a new run: a known preset, no checkpoint in the folder, a readable store', async () => {
    const out = tmp();
    await expect(checkNewTrainRun({ outDir: out, preset: 'kaku2021', data: store })).resolves.toBeUndefined();
    expect((await rejection(checkNewTrainRun({ outDir: out, preset: 'simclr' }))).code).toBe('ERR_INVALID_ARG');
    // A bad value is refused here, before a demo store would be prepared, by the configuration's schema.
    expect((await rejection(checkNewTrainRun({ outDir: out, preset: 'kaku2021', settings: { queueSize: 0 } }))).message).toMatch(/config\.queueSize/);
    expect((await rejection(checkNewTrainRun({ outDir: out, preset: 'kaku2021', overrides: { batchSize: 1 } }))).message).toMatch(/config\.batchSize/);
    expect((await rejection(checkNewTrainRun({ outDir: out, preset: 'kaku2021', data: path.join(out, 'nostore') }))).message).toMatch(/nostore is not a prepared data set/);
    mkdirSync(path.dirname(lastCheckpointPath(out)), { recursive: true });
    writeFileSync(lastCheckpointPath(out), '');
    expect((await rejection(checkNewTrainRun({ outDir: out, preset: 'kaku2021' }))).message).toMatch(/already holds a checkpoint/);
  });
});

describe('prepareTrainRun', () => {
  test('a new run on a store: config from the layers, data.json written, a source of the train split', async () => {
    const out = path.join(tmp(), 'run');
    const run = await prepareTrainRun({ outDir: out, data: store, settings: { ...small, steps: 3 }, cuda: false });
    expect(run).toMatchObject({ outDir: out, resume: false, steps: 3, data: { kind: 'store', store, demo: false, augment: 'mocov2' } });
    expect(run.config).toMatchObject({ arch: 'resnet18', imageSize: 16, inChannels: 1, queueSize: 64, totalSteps: 3 });
    expect(JSON.parse(readFileSync(dataJsonPath(out), 'utf8'))).toEqual(run.data);
    expect(run.description).toMatch(/^training on .* \(train split, \d+ images\)$/);
    expect(describeTrainRun(run)).toMatch(/resnet18 \(small stem\), 16×16, augmentation mocov2, loss mse, 3 steps of 8, device cpu; run folder /);
  });

  test('a demo run without a configuration file gets the demo overlay; the store decides the image side', async () => {
    const out = path.join(tmp(), 'run');
    const run = await prepareTrainRun({ outDir: out, demoStore: async () => store, settings: { device: 'cpu', batchSize: 8, queueSize: 64 }, cuda: false });
    expect(run.config).toMatchObject({ arch: 'resnet18', stem: 'small', imageSize: 16, batchSize: 8, queueSize: 64, totalSteps: 100 });
    expect(run.description).toMatch(/^no --data given: training on the demo data set, Fashion-MNIST/);
  });

  test('no demo store: the synthetic set, described as such', async () => {
    const run = await prepareTrainRun({ outDir: path.join(tmp(), 'run'), demoStore: async () => null, settings: { ...small, channels: 1 }, cuda: false });
    expect(run.data).toEqual({ kind: 'synthetic', demo: true, augment: 'mocov2' });
    expect(run.description).toMatch(/Fashion-MNIST is not installed \(apt-get install dataset-fashion-mnist\): training on the built-in synthetic data set/);
  });

  test('a resumed run reads back data.json and config.json; only the step count may change', async () => {
    const out = path.join(tmp(), 'run');
    const first = await prepareTrainRun({ outDir: out, data: store, augment: 'none', settings: { ...small, steps: 3 }, cuda: false });
    writeFileSync(path.join(out, 'config.json'), JSON.stringify(first.config));
    mkdirSync(path.dirname(lastCheckpointPath(out)), { recursive: true });
    writeFileSync(lastCheckpointPath(out), '');
    await expect(checkResumableTrainRun(out)).resolves.toBeUndefined();
    const resumed = await prepareTrainRun({ outDir: out, resume: true, settings: { steps: 9, batchSize: first.config.batchSize }, cuda: false });
    expect(resumed).toMatchObject({ resume: true, steps: 9, data: first.data, config: first.config });
    // Anything else that differs from the run's own record is refused, every difference listed.
    await expect(prepareTrainRun({ outDir: out, resume: true, augment: 'mocov2', settings: { steps: 9, batchSize: 16 }, cuda: false })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARG',
      message: expect.stringMatching(/asks for --augment "mocov2" \(the run has "none"\); --batch-size 16 \(the run has \d+\)/),
    });
  });

  test('the paper and the command line build the same source for a store', async () => {
    const config = resolveRunConfig({ settings: small, inChannels: 1, cuda: false });
    const { source, description } = await createTrainSource({ kind: 'store', store, demo: false, augment: 'mocov2' }, config, { cuda: false });
    expect(description).toContain(store);
    const grey = resolveRunConfig({ settings: { ...small, channels: 3 }, cuda: false });
    await expect(createTrainSource({ kind: 'store', store, demo: false, augment: 'mocov2' }, grey, { cuda: false })).rejects.toThrow(/has 1 channel/);
  });
});
