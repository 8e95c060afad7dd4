// A run's logs: metrics.jsonl, metrics.csv and the TensorBoard file get the same reports; a
// resume cuts the JSONL and CSV back to the checkpoint's step (a torn last line included) and
// starts a new event file.
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'fs';
import os from 'os';
import path from 'path';
import { RunLog } from '../../lib/run-logs/run-log';
import { readEventFile } from '../helpers/event-file';

let dir: string;
beforeEach(() => (dir = mkdtempSync(path.join(os.tmpdir(), 'imlm-runlog-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const columns = ['loss/total', 'monitor/knn_top1'];
const csvRows = () => readFileSync(path.join(dir, 'metrics.csv'), 'utf8').trim().split('\n');
const jsonSteps = () => readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).step);

test('every report goes to all three files; a missing scalar is an empty CSV cell', async () => {
  const log = await RunLog.open(dir, { columns });
  await log.write(10, { loss: 2 }, { 'loss/total': 2 });
  await log.write(20, { loss: 1.5 }, { 'loss/total': 1.5, 'monitor/knn_top1': 0.4 });
  expect(csvRows()[0]).toBe('step,time,loss/total,monitor/knn_top1');
  expect(csvRows()[1]).toMatch(/^10,[0-9T:.Z-]+,2,$/);
  expect(csvRows()[2]).toMatch(/^20,[0-9T:.Z-]+,1\.5,0\.4$/);
  expect(jsonSteps()).toEqual([10, 20]);
  const events = readEventFile(log.eventFile).slice(1);
  expect(events.map((e) => e.step)).toEqual([10, 20]);
  expect(events[1].scalars['monitor/knn_top1']).toBeCloseTo(0.4, 6);
});

test('resume keeps the rows up to the checkpoint and writes a new event file', async () => {
  const first = await RunLog.open(dir, { columns });
  for (const s of [10, 20, 30]) await first.write(s, { loss: s }, { 'loss/total': s });
  appendFileSync(path.join(dir, 'metrics.jsonl'), '{"step": 4'); // killed mid-line
  const second = await RunLog.open(dir, { columns, resume: { stepsCompleted: 20 } });
  await second.write(30, { loss: 3 }, { 'loss/total': 3 });
  expect(jsonSteps()).toEqual([10, 20, 30]);
  expect(csvRows().slice(1).map((r) => Number(r.split(',')[0]))).toEqual([10, 20, 30]);
  expect(second.eventFile).not.toBe(first.eventFile);
  expect(readdirSync(dir).filter((n) => n.startsWith('events.out.tfevents.')).length).toBe(2);
});

test('a CSV with other columns is not appended to', async () => {
  await RunLog.open(dir, { columns: ['a'] });
  await expect(RunLog.open(dir, { columns: ['b'], resume: { stepsCompleted: 0 } })).rejects.toMatchObject({ code: 'ERR_FORMAT' });
});

test('a new run in a folder an abandoned run logged to starts the logs afresh', async () => {
  const old = await RunLog.open(dir, { columns });
  await old.write(10, {}, { 'loss/total': 1 });
  const fresh = await RunLog.open(dir, { columns });
  await fresh.write(5, {}, { 'loss/total': 2 });
  expect(jsonSteps()).toEqual([5]);
  expect(readdirSync(dir).filter((n) => n.startsWith('events.out.tfevents.'))).toEqual([path.basename(fresh.eventFile)]);
});
