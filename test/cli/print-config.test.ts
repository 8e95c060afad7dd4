// `train --print-config` (the resolved configuration and a wall-time estimate from timed steps,
// nothing written) and the warning `train` prints before a run that looks like hours on a CPU —
// real processes on the built-in synthetic set.
import { spawn } from 'child_process';
import { existsSync, mkdtempSync } from 'fs';
import os from 'os';
import path from 'path';
import { presets } from '../../lib';
import { cliPath, runCli } from '../helpers/run';
import { writeIdxFolder } from '../helpers/idx-folder';

const dir = mkdtempSync(path.join(os.tmpdir(), 'imlm-cli-print-'));
const env = { IMLM_FASHION_MNIST_DIR: path.join(dir, 'absent'), XDG_CACHE_HOME: path.join(dir, 'cache') };
const tiny = ['--arch', 'resnet18', '--stem', 'small', '--image-size', '16', '--channels', '1', '--batch-size', '8', '--queue-size', '64', '--device', 'cpu'];

test('--print-config --json: the resolved configuration and an estimate from 3 steps after 1 warm-up; nothing written', async () => {
  const out = path.join(dir, 'not-written');
  const r = await runCli(['train', ...tiny, '--steps', '500', '--print-config', '--json', '--out', out], { env });
  expect(r.stderr).not.toMatch(/ERR_/);
  expect(r.code).toBe(0);
  const printed = JSON.parse(r.stdout);
  expect(printed.config).toMatchObject({ arch: 'resnet18', stem: 'small', imageSize: 16, inChannels: 1, batchSize: 8, queueSize: 64, totalSteps: 500, device: 'cpu', temperature: presets.kaku2021.temperature });
  expect(printed.steps).toBe(500);
  const e = printed.estimate;
  expect(e).toMatchObject({ warmupSteps: 1, timedSteps: 3, totalSteps: 500, device: 'cpu' });
  expect(e.imagesPerSecond).toBeGreaterThan(0);
  expect(e.secondsPerStep).toBeGreaterThan(0);
  expect(e.estimatedSeconds).toBeCloseTo(e.secondsPerStep * 500, 6);
  expect(typeof e.estimatedText).toBe('string');
  expect(existsSync(out)).toBe(false);
  // Measured on this machine, for the report.
  process.stdout.write(`print-config: ${e.imagesPerSecond.toFixed(1)} images/s, ${e.secondsPerStep.toFixed(3)} s/step → 500 steps ≈ ${e.estimatedText}\n`);
}, 120000);

test('--print-config prints the configuration as JSON, then the estimate line', async () => {
  const out = path.join(dir, 'plain');
  const r = await runCli(['train', ...tiny, '--steps', '20', '--print-config', '--out', out], { env });
  expect(r.code).toBe(0);
  const [json, estimate] = r.stdout.split(/\n(?=estimate: )/);
  expect(JSON.parse(json)).toMatchObject({ arch: 'resnet18', totalSteps: 20 });
  expect(estimate).toMatch(/^estimate: 3 steps timed after 1 warm-up on cpu: [\d.]+ images\/s, [\d.]+ s\/step → 20 steps ≈ \d+/);
  expect(existsSync(out)).toBe(false);
}, 120000);

test('--print-config with --resume is refused', async () => {
  const r = await runCli(['train', '--print-config', '--resume', '--out', path.join(dir, 'x')], { env });
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/ERR_INVALID_ARG: --print-config shows a new run's configuration/);
});

/** Starts `train`, waits for `pattern` on stderr (or the exit), then kills it: the warning comes before any step. */
function stderrUntil(args: string[], pattern: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 120000);
    child.stderr.on('data', (d) => {
      stderr += d;
      if (pattern.test(stderr)) child.kill('SIGKILL');
    });
    child.on('error', reject);
    child.on('close', () => {
      clearTimeout(timer);
      resolve(stderr);
    });
  });
}

test("the kaku2021 preset's run on the CPU warns before it starts, saying what the estimate is based on and how to shorten it", async () => {
  // A prepared store, so that the preset's own run is asked for (no --data would be the small demo run).
  const src = path.join(dir, 'idx');
  const store = path.join(dir, 'store');
  writeIdxFolder(src);
  expect((await runCli(['prepare', 'idx', src, store])).code).toBe(0);
  const stderr = await stderrUntil(['train', '--data', store, '--preset', 'kaku2021', '--device', 'cpu', '--out', path.join(dir, 'long')], /warning: [^\n]*\n/);
  const line = stderr.split('\n').find((l) => l.includes('warning:')) ?? '';
  // ResNet-50 at the store's 16² for the preset's 100,000 steps of 32 images: about 1.5 h at the assumed rate.
  expect(line).toMatch(/^imlm-native: warning: this run looks like \d+ h \d+ min or more on the CPU — an estimate from its size, not a measurement: 100000 steps × 32 images of resnet50 \(standard stem\) at 16²/);
  expect(line).toMatch(/--steps, another --preset, a smaller --arch \(resnet18\)/);
  expect(line).toMatch(/--print-config times a few real steps/);
  // Before the run starts: no progress was shown.
  expect(stderr.slice(0, stderr.indexOf('warning:'))).not.toMatch(/steps \| loss/);
}, 150000);

test('a short run on the CPU does not warn', async () => {
  const r = await runCli(['train', ...tiny, '--steps', '1', '--out', path.join(dir, 'short'), '--json'], { env });
  expect(r.code).toBe(0);
  expect(r.stderr).not.toMatch(/warning:/);
}, 120000);
