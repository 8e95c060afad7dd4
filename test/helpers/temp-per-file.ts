// Every test file gets its own temporary folder, removed when the file is done: training tests
// write checkpoints of hundreds of MB, and a full run would otherwise leave gigabytes behind and
// can fill the disk mid-run. Jest gives each file a copy of process.env, so TMPDIR alone would
// not reach os.tmpdir(); the (shared, real) os module is pointed at the folder instead, and
// TMPDIR is set for child processes spawned with the test's environment.
import { mkdtempSync, rmSync } from 'fs';
import os from 'os';
import path from 'path';

const realTmpdir = os.tmpdir;
const dir = mkdtempSync(path.join(realTmpdir(), 'imlm-test-'));
os.tmpdir = () => dir;
process.env.TMPDIR = dir;

afterAll(() => {
  os.tmpdir = realTmpdir;
  rmSync(dir, { recursive: true, force: true });
});
