// Bad command lines end in one coded line and leave nothing behind; SIGTERM saves like Ctrl-C and
// the run resumes to the same losses; stale temporaries of dead processes are removed at start.
// Real processes, real files.
import { spawn } from 'child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'fs';
import os from 'os';
import path from 'path';
import { cliPath, repoRoot, runCli } from '../helpers/run';
import { writeIdxFolder } from '../helpers/idx-folder';

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'imlm-hard-'));
const tiny = ['--arch', 'resnet18', '--stem', 'small', '--image-size', '16', '--batch-size', '8', '--queue-size', '64', '--device', 'cpu'];

/** Every path under `root` with its size and modification time. */
function tree(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const p = path.join(dir, name);
      const st = statSync(p);
      out.push(st.isDirectory() ? `${p}/` : `${p} ${st.size} ${st.mtimeMs}`);
      if (st.isDirectory()) walk(p);
    }
  };
  walk(root);
  return out;
}

const env = (root: string) => ({ IMLM_FASHION_MNIST_DIR: path.join(root, 'absent'), XDG_CACHE_HOME: path.join(root, 'cache') });

describe('bad command lines: one coded line, nothing written', () => {
  const root = tmp();
  const f = (name: string) => path.join(root, name);
  let store = '';
  let run = '';

  beforeAll(async () => {
    writeIdxFolder(f('src'));
    store = f('store');
    expect((await runCli(['prepare', 'idx', f('src'), store])).code).toBe(0);
    run = f('run');
    const r = await runCli(['train', '--data', store, ...tiny, '--steps', '1', '--out', run, '--json']);
    expect(r.code).toBe(0);
    writeFileSync(f('bad.json'), '{bad');
    writeFileSync(f('array.json'), '[1, 2]');
    writeFileSync(f('object.json'), '{"batchSize": 8}');
    writeFileSync(f('afile'), 'hi');
    mkdirSync(f('emptydir'));
    // Run folders with one part damaged.
    for (const [name, file, content] of [
      ['run-badcfg', 'config.json', '{bad'],
      ['run-badfield', 'config.json', JSON.stringify({ ...JSON.parse(readFileSync(path.join(run, 'config.json'), 'utf8')), batchSize: 0 })],
      ['run-baddata', 'data.json', '{"kind":"weird"}'],
    ] as const) {
      mkdirSync(f(`${name}/checkpoints`), { recursive: true });
      for (const part of ['config.json', 'data.json', 'checkpoints/last.safetensors']) writeFileSync(f(`${name}/${part}`), readFileSync(path.join(run, part)));
      writeFileSync(f(`${name}/${file}`), content);
    }
    mkdirSync(f('run-nockpt'));
    for (const part of ['config.json', 'data.json']) writeFileSync(f(`run-nockpt/${part}`), readFileSync(path.join(run, part)));
  }, 180000);

  const cases: Array<[string, () => string[], RegExp]> = [
    ['train --resume of a missing folder', () => ['train', '--resume', '--out', f('missing')], /ERR_INVALID_ARG: cannot resume: .* does not exist/],
    ['train --resume of an empty folder', () => ['train', '--resume', '--out', f('emptydir')], /ERR_INVALID_ARG: cannot resume: .* holds no run/],
    ['train --resume of a file', () => ['train', '--resume', '--out', f('afile')], /ERR_INVALID_ARG: cannot resume: .* is a file/],
    ['train --resume of a folder without a checkpoint', () => ['train', '--resume', '--out', f('run-nockpt')], /ERR_INVALID_ARG: cannot resume: .* holds no run/],
    ['train --resume with a config.json that is not JSON', () => ['train', '--resume', '--out', f('run-badcfg')], /ERR_FORMAT: .*run-badcfg\/config\.json is not valid JSON/],
    ['train --resume with a bad config.json field', () => ['train', '--resume', '--out', f('run-badfield')], /ERR_FORMAT: .*config\.json: Expected a number >= 2 for config\.batchSize/],
    ['train --resume with a bad data.json', () => ['train', '--resume', '--out', f('run-baddata')], /ERR_FORMAT: .*data\.json: Expected 'store' or 'synthetic' for kind/],
    ['train --resume with another architecture and loss', () => ['train', '--resume', '--out', run, '--arch', 'resnet50', '--loss', 'barlow'], /ERR_INVALID_ARG: --resume .* asks for --arch "resnet50" \(the run has "resnet18"\); --loss "barlow" \(the run has "mse"\)\. Only --steps and --checkpoint-every may change/],
    ['train --resume with other data and batch size', () => ['train', '--resume', '--out', run, '--data', f('src'), '--batch-size', '16'], /ERR_INVALID_ARG: --resume .* asks for --data .*src \(the run trains on .*store\); --batch-size 16 \(the run has 8\)/],
    ['train --resume with a --config', () => ['train', '--resume', '--out', run, '--config', f('object.json')], /ERR_INVALID_ARG: --resume .* asks for --config \(a resumed run keeps its own configuration/],
    ['train --resume with --init', () => ['train', '--resume', '--out', run, '--init', path.join(run, 'backbone.safetensors')], /ERR_INVALID_ARG: --init starts a new run/],
    ['train --config missing', () => ['train', '--data', store, ...tiny, '--config', f('missing.json'), '--out', f('o')], /ERR_IO: --config .* does not exist/],
    ['train --config bad JSON', () => ['train', '--data', store, ...tiny, '--config', f('bad.json'), '--out', f('o')], /ERR_FORMAT: --config .* is not valid JSON/],
    ['train --config an array', () => ['train', '--data', store, ...tiny, '--config', f('array.json'), '--out', f('o')], /ERR_FORMAT: --config .* holds an array/],
    ['train --config a folder', () => ['train', '--data', store, ...tiny, '--config', f('emptydir'), '--out', f('o')], /ERR_IO: --config .* is a folder/],
    ['train --out a file', () => ['train', '--data', store, ...tiny, '--out', f('afile')], /ERR_IO: --out .* is a file/],
    ['train --out under a file', () => ['train', '--data', store, ...tiny, '--out', f('afile/sub')], /ERR_IO: --out .* is a file, so the folder cannot be created/],
    ['train --checkpoint-every 0', () => ['train', '--data', store, ...tiny, '--checkpoint-every', '0', '--out', f('o')], /ERR_INVALID_ARG: Expected an integer >= 1 for --checkpoint-every but received '0'/],
    ['train --steps 12abc', () => ['train', '--data', store, ...tiny, '--steps', '12abc', '--out', f('o')], /ERR_INVALID_ARG: Expected an integer >= 1 for --steps but received '12abc'/],
    ['train --steps -5', () => ['train', '--data', store, ...tiny, '--steps', '-5', '--out', f('o')], /ERR_INVALID_ARG: Expected an integer >= 1 for --steps/],
    ['train --channels 3 on a grey store', () => ['train', '--data', store, ...tiny, '--channels', '3', '--out', f('o')], /ERR_INVALID_ARG: the data set .* has 1 channel/],
    ['train --init missing', () => ['train', '--data', store, ...tiny, '--init', f('missing.safetensors'), '--out', f('o')], /ERR_IO: --init .* does not exist/],
    ['train --lr abc', () => ['train', '--data', store, ...tiny, '--lr', 'abc', '--out', f('o')], /ERR_INVALID_ARG: Expected a number > 0 for --lr/],
    ['train an unknown option', () => ['train', '--bogus'], /ERR_INVALID_ARG: unknown option '--bogus'/],
    ['an unknown command', () => ['trian'], /ERR_INVALID_ARG: unknown command 'trian'/],
    ['prepare --patient-pattern "("', () => ['prepare', 'folder', f('src'), f('p'), '--patient-pattern', '('], /ERR_INVALID_ARG: Expected a regular expression for --patient-pattern/],
    ['prepare idx --channels 3', () => ['prepare', 'idx', f('src'), f('p'), '--channels', '3'], /ERR_INVALID_ARG: Expected no --channels \(or 1\) for idx/],
    ['prepare into a folder under a file', () => ['prepare', 'idx', f('src'), f('afile/sub')], /ERR_IO: <out> .* is a file/],
    ['prepare --size 12abc', () => ['prepare', 'idx', f('src'), f('p'), '--size', '12abc'], /ERR_INVALID_ARG: Expected an integer >= 1 for --size/],
    ['inspect --samples 0', () => ['inspect', store, '--samples', '0', '--out', f('i')], /ERR_INVALID_ARG: Expected an integer >= 1 for --samples/],
    ['inspect --out a file', () => ['inspect', store, '--out', f('afile')], /ERR_IO: --out .* is a file/],
    ['eval linear --out a file', () => ['eval', 'linear', '--checkpoint', path.join(run, 'backbone.safetensors'), '--data', store, '--out', f('afile')], /ERR_IO: --out .* is a file/],
    ['eval linear --fraction the store lacks', () => ['eval', 'linear', '--checkpoint', path.join(run, 'backbone.safetensors'), '--data', store, '--out', f('l'), '--fraction', '0.5'], /ERR_INVALID_ARG: Expected a label fraction the store records/],
    ['eval linear --checkpoint missing', () => ['eval', 'linear', '--checkpoint', f('missing'), '--data', store, '--out', f('l')], /ERR_IO: --checkpoint .* does not exist/],
    ['eval cka --kernel foo', () => ['eval', 'cka', '--before', path.join(run, 'backbone.safetensors'), '--after', path.join(run, 'backbone.safetensors'), '--data', store, '--kernel', 'foo', '--out', f('c')], /ERR_INVALID_ARG: Expected --kernel linear \| rbf/],
    ['paper --out a file', () => ['paper', '--data', store, '--out', f('afile')], /ERR_IO: --out .* is a file/],
    ['paper --cka-kernel foo', () => ['paper', '--data', store, '--out', f('pp'), '--cka-kernel', 'foo'], /ERR_INVALID_ARG: Expected --cka-kernel/],
    ['paper --subset bad', () => ['paper', '--data', store, '--out', f('pp'), '--subset', 'bad'], /ERR_INVALID_ARG: Expected --subset like/],
  ];

  test.each(cases)('%s', async (_name, args, expected) => {
    const cwd = mkdtempSync(path.join(os.tmpdir(), 'imlm-cwd-'));
    const before = tree(root);
    const r = await runCli(args(), { cwd, env: env(root) });
    expect(r.code).toBe(1);
    const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^imlm-native: ERR_[A-Z_]+: /);
    expect(lines[0]).toMatch(expected);
    expect(r.stderr).not.toMatch(/unexpected error|    at /);
    expect(tree(root)).toEqual(before);
    expect(readdirSync(cwd)).toEqual([]); // no default runs/ folder either
  }, 60000);

  test('train --resume repeating the run\'s own flags continues it', async () => {
    const r = await runCli(['train', '--resume', '--out', run, '--data', store, ...tiny, '--augment', 'mocov2', '--steps', '2', '--json'], { env: env(root) });
    expect(r.stderr).not.toMatch(/ERR_/);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).stepsCompleted).toBe(2);
  }, 120000);
});

/** Starts train, waits for a logged step (metrics.jsonl), sends `signal`; resolves with the outcome. */
async function trainAndSignal(args: string[], out: string, signal: NodeJS.Signals, extraEnv: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, [cliPath, 'train', ...args, '--out', out, '--json'], { cwd: repoRoot, env: { ...process.env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  const metrics = path.join(out, 'metrics.jsonl');
  const deadline = Date.now() + 120000;
  const stepped = () => existsSync(metrics) && readFileSync(metrics, 'utf8').trim().length > 0;
  while (!stepped() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  expect(stepped()).toBe(true);
  child.kill(signal);
  return { code: await exited, stdout, stderr };
}

const losses = (out: string) =>
  readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { step: number; loss: number });

describe('signals', () => {
  test('SIGTERM mid-run saves, exits 143; resuming gives the same losses as an uninterrupted run', async () => {
    const root = tmp();
    // --checkpoint-every 1: a report and a save every step, so metrics.jsonl has every step.
    const flags = [...tiny, '--checkpoint-every', '1', '--seed', '3'];
    const out = path.join(root, 'run');
    const stopped = await trainAndSignal([...flags, '--steps', '60'], out, 'SIGTERM', env(root));
    expect(stopped.code).toBe(143);
    expect(stopped.stderr).toMatch(/SIGTERM: stopping after the current step/);
    const result = JSON.parse(stopped.stdout.trim().split('\n').pop()!);
    expect(result.cancelled).toBe(true);
    const k = result.stepsCompleted as number;
    expect(k).toBeGreaterThan(0);
    expect(k).toBeLessThan(60);
    const target = k + 3;
    const resumed = await runCli(['train', '--resume', '--out', out, '--steps', String(target), '--checkpoint-every', '1', '--json'], { env: env(root) });
    expect(resumed.code).toBe(0);
    expect(JSON.parse(resumed.stdout).stepsCompleted).toBe(target);

    const reference = path.join(root, 'reference');
    const straight = await runCli(['train', ...flags, '--steps', String(target), '--out', reference, '--json'], { env: env(root) });
    expect(straight.code).toBe(0);
    const a = losses(out);
    const b = losses(reference);
    expect(a.map((l) => l.step)).toEqual(Array.from({ length: target }, (_, i) => i + 1));
    expect(a.map((l) => [l.step, l.loss])).toEqual(b.map((l) => [l.step, l.loss]));
  }, 400000);

  test('a stale temporary of a dead process is removed at the next start; a live one is kept', async () => {
    const root = tmp();
    const out = path.join(root, 'run');
    mkdirSync(path.join(out, 'checkpoints'), { recursive: true });
    const dead = path.join(out, 'checkpoints', 'last.safetensors.tmp-999999');
    const live = path.join(out, 'checkpoints', `last.safetensors.tmp-${process.pid}`);
    const deadJson = path.join(out, '.config.json.tmp-999998');
    const other = path.join(out, 'notes.tmp-x');
    for (const file of [dead, live, deadJson, other]) writeFileSync(file, 'partial');
    const r = await runCli(['train', ...tiny, '--steps', '1', '--out', out, '--json'], { env: env(root) });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/removed 2 stale temporary file\(s\)/);
    expect(existsSync(dead)).toBe(false);
    expect(existsSync(deadJson)).toBe(false);
    expect(existsSync(live)).toBe(true);
    expect(existsSync(other)).toBe(true);
  }, 180000);

  test('doctor --dir of a file fails its disk check instead of passing', async () => {
    const root = tmp();
    const file = path.join(root, 'afile');
    writeFileSync(file, 'x');
    const r = await runCli(['doctor', '--dir', file]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/FAIL\s+disk\s+.*afile is not a folder/);
  });
});
