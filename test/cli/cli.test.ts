// The imlm-native command, run as a real process from bin/.
import { mkdtempSync } from 'fs';
import os from 'os';
import path from 'path';
import { runCli } from '../helpers/run';
import { version } from '../../lib';

describe('imlm-native CLI', () => {
  test('--version prints the package version', async () => {
    const r = await runCli(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(version);
  });

  test('--help lists the commands', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    for (const command of ['train', 'info', 'doctor']) expect(r.stdout).toContain(command);
  });

  test('info --json prints one parseable JSON object', async () => {
    const r = await runCli(['info', '--json']);
    expect(r.code).toBe(0);
    const parsed = JSON.parse(r.stdout);
    expect(parsed.packageVersion).toBe(version);
    expect(typeof parsed.cuda.available).toBe('boolean');
    expect(parsed.libtorch.version).toMatch(/^\d+\.\d+\.\d+/);
  });

  test('info prints a readable summary', async () => {
    const r = await runCli(['info']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^imlm-native \d+\.\d+\.\d+/);
    expect(r.stdout).toMatch(/LibTorch\s+\d+\.\d+\.\d+/);
  });

  test('doctor exits 0 on a machine where every check holds', async () => {
    const r = await runCli(['doctor', '--json']);
    const checks = JSON.parse(r.stdout) as Array<{ name: string; ok: boolean }>;
    expect(checks.map((c) => c.name)).toEqual(['addon', 'LibTorch', 'CUDA', 'disk']);
    expect(r.code).toBe(checks.every((c) => c.ok) ? 0 : 1);
    expect(r.code).toBe(0);
  });

  test('doctor exits 1 and says how to fix a failed check', async () => {
    const missing = path.join(mkdtempSync(path.join(os.tmpdir(), 'imlm-')), 'does-not-exist');
    const r = await runCli(['doctor', '--dir', missing]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/FAIL\s+disk/);
    expect(r.stdout).toMatch(/fix: /);
  });

  test('doctor exits 1 when the addon cannot be loaded', async () => {
    // A copy of the CLI without a build next to it: the loader must explain, not crash.
    const r = await runCli(['doctor', '--json'], { env: { IMLM_ADDON_PATH: '/nonexistent/imlm.node' } });
    expect(r.code).toBe(1);
    const checks = JSON.parse(r.stdout) as Array<{ name: string; ok: boolean; fix?: string }>;
    expect(checks[0]).toMatchObject({ name: 'addon', ok: false });
    expect(checks[0].fix).toMatch(/npm rebuild imlm-native/);
  });

  test('an unknown command is a usage error', async () => {
    const r = await runCli(['trian']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/unknown command/);
  });
});

describe('imlm-native train (before the training engine lands)', () => {
  test('says it is not available yet, with a code, and exits 1', async () => {
    const r = await runCli(['train']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/ERR_NOT_AVAILABLE/);
  });
});
