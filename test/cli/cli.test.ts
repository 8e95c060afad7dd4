// The imlm-native command, run as a real process from bin/.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'fs';
import os from 'os';
import path from 'path';
import { runCli } from '../helpers/run';
import { writeIdxFolder } from '../helpers/idx-folder';
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
    for (const command of ['prepare', 'train', 'replay', 'info', 'doctor']) expect(r.stdout).toContain(command);
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
    // Debian's libgloo-dev is installed by .ci/run: the CPU build has Gloo.
    expect(r.stdout).toMatch(/distributed c10d gloo/);
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

describe('imlm-native train', () => {
  const small = ['--arch', 'resnet18', '--stem', 'small', '--image-size', '16', '--batch-size', '8', '--queue-size', '64', '--device', 'cpu'];
  const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'imlm-cli-'));

  test('with no --data it prepares the Fashion-MNIST demo store once and trains on it, saying so', async () => {
    const cache = tmp();
    const out = path.join(tmp(), 'run');
    const r = await runCli(['train', '--steps', '2', '--batch-size', '8', '--queue-size', '64', '--out', out, '--json'], { env: { XDG_CACHE_HOME: cache } });
    expect(r.stderr).toMatch(/no --data given: training on the demo data set, Fashion-MNIST/);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).stepsCompleted).toBe(2);
    expect(JSON.parse(readFileSync(path.join(cache, 'imlm-native', 'fashion-mnist', 'manifest.json'), 'utf8')).splits.test.count).toBe(10000);
    expect(JSON.parse(readFileSync(path.join(out, 'config.json'), 'utf8'))).toMatchObject({ arch: 'resnet18', stem: 'small', inChannels: 1, imageSize: 28 });
  }, 180000);

  test('without Fashion-MNIST it falls back to the synthetic source and says so', async () => {
    const r = await runCli(['train', ...small, '--steps', '1', '--out', path.join(tmp(), 'run'), '--json'], {
      env: { XDG_CACHE_HOME: tmp(), IMLM_FASHION_MNIST_DIR: path.join(tmp(), 'absent') },
    });
    expect(r.stderr).toMatch(/training on the built-in synthetic data set/);
    expect(r.code).toBe(0);
  }, 180000);

  test('--data trains on a prepared store and writes a run folder; --resume continues it', async () => {
    const store = path.join(tmp(), 'store');
    const src = path.join(tmp(), 'src');
    writeIdxFolder(src);
    expect((await runCli(['prepare', 'idx', src, store])).code).toBe(0);
    const out = path.join(tmp(), 'run');
    const r = await runCli(['train', '--data', store, ...small, '--steps', '4', '--checkpoint-every', '2', '--monitor-every', '2', '--out', out, '--json']);
    expect(r.stderr).toMatch(new RegExp(`training on ${store.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(train split, \\d+ images\\)`));
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ stepsCompleted: 4, cancelled: false });
    const config = JSON.parse(readFileSync(path.join(out, 'config.json'), 'utf8'));
    expect(config).toMatchObject({ arch: 'resnet18', stem: 'small', imageSize: 16, batchSize: 8, totalSteps: 4, inChannels: 1 });
    const lines = readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.filter((l) => !l.monitor).map((l) => l.step)).toEqual([2, 4]);
    // The kNN monitor (on for a labelled store) at each of its steps.
    expect(r.stderr).toMatch(/kNN monitor: \d+ train rows vs \d+ val rows, every 2 steps/);
    expect(lines.filter((l) => l.monitor).map((l) => l.step)).toEqual([2, 4]);
    expect(existsSync(path.join(out, 'checkpoints', 'last.safetensors'))).toBe(true);
    expect(existsSync(path.join(out, 'backbone.safetensors'))).toBe(true);
    // The run's other logs: CSV, TensorBoard, and the loss plot `train` draws at the end.
    expect(readFileSync(path.join(out, 'metrics.csv'), 'utf8').trim().split('\n')).toHaveLength(1 + 2 + 2); // header, reports, monitor steps
    expect(readdirSync(out).some((n) => n.startsWith('events.out.tfevents.'))).toBe(true);
    expect(JSON.parse(r.stdout).lossPlot).toBe(path.join(out, 'loss.png'));
    expect(readFileSync(path.join(out, 'loss.png')).subarray(1, 4).toString()).toBe('PNG');
    expect(readFileSync(path.join(out, 'loss.svg'), 'utf8')).toContain('<svg');

    const again = await runCli(['train', '--out', out, '--resume', '--steps', '6', '--json']);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout).stepsCompleted).toBe(6);
    const all = readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).step);
    expect(all.at(-1)).toBe(6);

    const refused = await runCli(['train', '--data', store, ...small, '--steps', '2', '--out', out]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/ERR_INVALID_ARG: .*already holds a checkpoint; pass --resume/);
  }, 180000);

  test('an unknown preset or architecture exits 1 with ERR_INVALID_ARG', async () => {
    const preset = await runCli(['train', '--preset', 'simclr', '--data', '/nonexistent']);
    expect(preset.code).toBe(1);
    const arch = await runCli(['train', '--arch', 'vgg16', ...small.slice(2), '--out', path.join(tmp(), 'run')], { env: { IMLM_FASHION_MNIST_DIR: '/nonexistent', XDG_CACHE_HOME: tmp() } });
    expect(arch.code).toBe(1);
    expect(arch.stderr).toMatch(/ERR_INVALID_ARG: .*config\.arch but received 'vgg16'/);
    const presetOnly = await runCli(['train', '--preset', 'simclr', '--out', path.join(tmp(), 'run')], { env: { IMLM_FASHION_MNIST_DIR: '/nonexistent', XDG_CACHE_HOME: tmp() } });
    expect(presetOnly.code).toBe(1);
    expect(presetOnly.stderr).toMatch(/ERR_INVALID_ARG: Expected a preset 'kaku2021' or 'mocov2' but received 'simclr'/);
  });
});

