// The run folder shared by pre-training and fine-tuning (lib/run-folder.ts), on real folders and files.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'fs';
import os from 'os';
import path from 'path';
import {
  assertFreshRunFolder,
  assertResumableRunFolder,
  hasCheckpoint,
  lastCheckpointPath,
  readCheckedRunJson,
  readRunJson,
  writeRunJson,
} from '../../lib/run-folder';
import { rejection } from '../helpers/rejection';

async function expectRejection(p: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  const e = await rejection(p);
  expect(e.code).toBe(code);
  expect(e.message).toMatch(message);
}

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'imlm-run-folder-'));

function withCheckpoint(dir: string): string {
  mkdirSync(path.join(dir, 'checkpoints'), { recursive: true });
  writeFileSync(lastCheckpointPath(dir), 'not really a checkpoint');
  return dir;
}

describe('run folder', () => {
  test('the last checkpoint is checkpoints/last.safetensors, for every kind of run', () => {
    expect(lastCheckpointPath('/runs/a')).toBe(path.join('/runs/a', 'checkpoints', 'last.safetensors'));
  });

  test('a new run may start in a missing or checkpoint-free folder, never over a checkpoint', () => {
    const dir = tmp();
    expect(() => assertFreshRunFolder(path.join(dir, 'missing'))).not.toThrow();
    expect(() => assertFreshRunFolder(dir)).not.toThrow();
    expect(hasCheckpoint(dir)).toBe(false);
    withCheckpoint(dir);
    expect(hasCheckpoint(dir)).toBe(true);
    expect(() => assertFreshRunFolder(dir)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG', message: expect.stringMatching(/already holds a checkpoint; pass --resume/) }));
  });

  test('a run resumes only in a folder holding a checkpoint, and says why not otherwise', () => {
    const dir = tmp();
    const file = path.join(dir, 'afile');
    writeFileSync(file, '');
    expect(() => assertResumableRunFolder(path.join(dir, 'missing'))).toThrow(/cannot resume: .* does not exist/);
    expect(() => assertResumableRunFolder(file)).toThrow(/cannot resume: .* is a file/);
    expect(() => assertResumableRunFolder(dir)).toThrow(/cannot resume: .* holds no run/);
    expect(() => assertResumableRunFolder(withCheckpoint(dir))).not.toThrow();
  });

  test('JSON files are written atomically (no temporary left) and read back', async () => {
    const dir = tmp();
    const file = path.join(dir, 'data.json');
    await writeRunJson(file, { kind: 'synthetic', demo: true });
    expect(readFileSync(file, 'utf8')).toBe('{\n  "kind": "synthetic",\n  "demo": true\n}\n');
    expect(readdirSync(dir)).toEqual(['data.json']);
    await expect(readRunJson(file, 'the record of the training data')).resolves.toEqual({ kind: 'synthetic', demo: true });
  });

  test('a missing file is ERR_IO, a damaged one ERR_FORMAT, both naming the file', async () => {
    const dir = tmp();
    await expectRejection(readRunJson(path.join(dir, 'config.json'), 'the run configuration'), 'ERR_IO', /cannot read the run configuration .*config\.json/);
    writeFileSync(path.join(dir, 'config.json'), '{ nope');
    await expectRejection(readRunJson(path.join(dir, 'config.json'), 'the run configuration'), 'ERR_FORMAT', /config\.json is not valid JSON/);
  });

  test('a checked JSON file names the field that does not fit its schema', async () => {
    const dir = tmp();
    const file = path.join(dir, 'progress.json');
    const schema = { type: 'object', required: ['sinceBest'], properties: { sinceBest: { type: 'integer', minimum: 0 } } };
    await writeRunJson(file, { sinceBest: 2 });
    await expect(readCheckedRunJson(file, schema, 'start again')).resolves.toEqual({ sinceBest: 2 });
    await writeRunJson(file, { sinceBest: -1 });
    await expectRejection(readCheckedRunJson(file, schema, 'start again'), 'ERR_FORMAT', /progress\.json: \/sinceBest: expected a number >= 0/);
  });
});
