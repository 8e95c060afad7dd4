// A pre-training run's logs: every report step is in metrics.jsonl, metrics.csv and the
// TensorBoard event file with every loss term, accuracy, lr, key momentum and throughput.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'fs';
import os from 'os';
import path from 'path';
import { pretrain, syntheticSource } from '../../lib';
import { kPretrainColumns } from '../../lib/run-logs/scalars';
import { tinyConfig } from '../helpers/configs';
import { readEventFile } from '../helpers/event-file';

let dir: string;
beforeAll(() => (dir = mkdtempSync(path.join(os.tmpdir(), 'imlm-pretrain-logs-'))));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('each report step is logged to JSONL, CSV and TensorBoard with every scalar', async () => {
  const outDir = path.join(dir, 'run');
  const config = tinyConfig({ totalSteps: 6 });
  await pretrain({ config, source: syntheticSource({ channels: 3, imageSize: 16, batchSize: 8, poolSize: 32, prefetch: 0 }), outDir, reportEvery: 2, checkpointEvery: 3 });
  const jsonSteps = readFileSync(path.join(outDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).step as number);
  const csv = readFileSync(path.join(outDir, 'metrics.csv'), 'utf8').trim().split('\n');
  expect(csv[0]).toBe(['step', 'time', ...kPretrainColumns].join(','));
  expect(csv.slice(1).map((r) => Number(r.split(',')[0]))).toEqual(jsonSteps);
  const files = readdirSync(outDir).filter((n) => n.startsWith('events.out.tfevents.'));
  expect(files).toHaveLength(1);
  const events = readEventFile(path.join(outDir, files[0])).slice(1);
  expect(events.map((e) => e.step)).toEqual(jsonSteps);
  const expected = kPretrainColumns.filter((c) => c !== 'monitor/knn_top1');
  for (const e of events) {
    expect(Object.keys(e.scalars).sort()).toEqual([...expected].sort());
    for (const v of Object.values(e.scalars)) expect(Number.isFinite(v)).toBe(true);
  }
  expect(jsonSteps[jsonSteps.length - 1]).toBe(6);
});

test('a stopped run still exports its backbone (the checkpoint\'s weights) and logs up to where it stopped', async () => {
  const outDir = path.join(dir, 'stopped');
  const controller = new AbortController();
  const config = tinyConfig({ totalSteps: 50 });
  const result = await pretrain({
    config, source: syntheticSource({ channels: 3, imageSize: 16, batchSize: 8, poolSize: 32, prefetch: 0 }), outDir, reportEvery: 1, checkpointEvery: 50, signal: controller.signal,
    onProgress: (p) => { if (p.step === 2) controller.abort(); },
  });
  expect(result.cancelled).toBe(true);
  expect(result.stepsCompleted).toBeLessThan(50);
  expect(result.backbone).toBe(path.join(outDir, 'backbone.safetensors'));
  const csvSteps = readFileSync(path.join(outDir, 'metrics.csv'), 'utf8').trim().split('\n').slice(1).map((r) => Number(r.split(',')[0]));
  expect(csvSteps[csvSteps.length - 1]).toBe(result.stepsCompleted);
});
