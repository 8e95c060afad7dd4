// Reports fall on the multiples of reportEvery however the steps are split into native runs:
// pretrain's checkpoint chunks, and a Trainer run continued by another (as a resume does).
import { readFileSync } from 'fs';
import os from 'os';
import path from 'path';
import { pretrain, syntheticSource, Trainer } from '../../lib';
import { tinyConfig } from '../helpers/configs';

const source = () => syntheticSource({ channels: 3, imageSize: 16, batchSize: 8, poolSize: 32, prefetch: 0 });
const loggedSteps = (outDir: string) => readFileSync(path.join(outDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).step as number);

test('pretrain({ reportEvery: 5 }) reports at exactly the multiples of 5 (the default checkpoint interval is one)', async () => {
  const outDir = path.join(os.tmpdir(), 'default');
  const seen: number[] = [];
  // 15 steps: a tenth of the run is 2 steps, which used to make chunks of 2 and a report every 2 steps.
  await pretrain({ config: tinyConfig({ totalSteps: 15 }), source: source(), outDir, reportEvery: 5, onProgress: (p) => seen.push(p.step) });
  expect(seen).toEqual([5, 10, 15]);
  expect(loggedSteps(outDir)).toEqual([5, 10, 15]);
});

test('a checkpoint interval off the multiples adds its own reports and keeps every multiple', async () => {
  const outDir = path.join(os.tmpdir(), 'every4');
  const seen: number[] = [];
  await pretrain({ config: tinyConfig({ totalSteps: 15 }), source: source(), outDir, reportEvery: 5, checkpointEvery: 4, onProgress: (p) => seen.push(p.step) });
  expect(seen).toEqual([4, 5, 8, 10, 12, 15]);
  expect(loggedSteps(outDir)).toEqual(seen);
});

test('Trainer.run counts the multiples from step 0: a run continued by another reports where one run would', async () => {
  const trainer = await Trainer.create(tinyConfig({ totalSteps: 10 }));
  const seen: number[] = [];
  const data = source();
  await trainer.run(data, { steps: 3, reportEvery: 5, onProgress: (p) => seen.push(p.step) });
  await trainer.run(data, { steps: 7, reportEvery: 5, onProgress: (p) => seen.push(p.step) });
  expect(seen).toEqual([3, 5, 10]);
});
