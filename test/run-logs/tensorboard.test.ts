// TensorBoard event files, read back by an independent decoder (test/helpers/event-file.ts):
// every record's CRCs, the version record, and every scalar of every step.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'fs';
import os from 'os';
import path from 'path';
import { TensorBoardWriter } from '../../lib/run-logs/tensorboard';
import { readEventFile } from '../helpers/event-file';

let dir: string;
beforeEach(() => (dir = mkdtempSync(path.join(os.tmpdir(), 'imlm-tb-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

test('the first record is the version; every scalar of every step is read back with valid CRCs', async () => {
  const before = Date.now() / 1000;
  const w = await TensorBoardWriter.create(dir);
  expect(path.basename(w.file)).toMatch(/^events\.out\.tfevents\.\d+\./);
  const steps = [10, 20, 30];
  for (const s of steps) await w.scalars(s, { 'loss/total': 1 / s, 'loss/info_nce': 2 / s, 'train/lr': 0.03, 'train/top1': s / 100 });
  const events = readEventFile(w.file);
  expect(events[0].fileVersion).toBe('brain.Event:2');
  expect(events[0].wallTime).toBeGreaterThanOrEqual(Math.floor(before));
  expect(events.slice(1).map((e) => e.step)).toEqual(steps);
  events.slice(1).forEach((e, k) => {
    const s = steps[k];
    expect(Object.keys(e.scalars).sort()).toEqual(['loss/info_nce', 'loss/total', 'train/lr', 'train/top1']);
    expect(e.scalars['loss/total']).toBeCloseTo(1 / s, 6);
    expect(e.scalars['train/top1']).toBeCloseTo(s / 100, 6);
  });
});

test('a step of 0 and large steps are encoded (int64 varint)', async () => {
  const w = await TensorBoardWriter.create(dir);
  await w.scalars(0, { a: 1 });
  await w.scalars(2 ** 40, { a: 2 });
  expect(readEventFile(w.file).slice(1).map((e) => e.step)).toEqual([0, 2 ** 40]);
});

test('a bad step is refused with ERR_INVALID_ARG; an unwritable folder is ERR_IO', async () => {
  const w = await TensorBoardWriter.create(dir);
  await expect(w.scalars(-1, { a: 1 })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG' });
  const file = path.join(dir, 'not-a-folder');
  writeFileSync(file, '');
  await expect(TensorBoardWriter.create(file)).rejects.toMatchObject({ code: 'ERR_IO' });
  expect(readdirSync(dir).filter((n) => n.startsWith('events.')).length).toBe(1);
});

test('a scalar of 0 reads back as 0 (proto3 leaves the field out)', async () => {
  const w = await TensorBoardWriter.create(dir);
  await w.scalars(1, { zero: 0, one: 1 });
  expect(readEventFile(w.file)[1].scalars).toEqual({ zero: 0, one: 1 });
});
