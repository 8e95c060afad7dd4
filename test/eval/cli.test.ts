// `imlm-native embed` and `imlm-native eval …` as real processes: --json prints exactly one
// JSON object on stdout; errors are one line with the code.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import os from 'os';
import path from 'path';
import { runCli } from '../helpers/run';
import { writeCheckpoints, writeSyntheticStore } from './fixtures';

function onlyJson(stdout: string): Record<string, unknown> {
  const lines = stdout.trim().split('\n');
  expect(lines).toHaveLength(1);
  return JSON.parse(lines[0]);
}

describe('embed and eval commands', () => {
  let dir: string;
  let store: string;
  let checkpoints: { state: string; backbone: string };

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'imlm-eval-cli-'));
    store = path.join(dir, 'store');
    await writeSyntheticStore(store, { counts: { train: 48, val: 24, test: 24 } });
    checkpoints = await writeCheckpoints(dir);
  });

  // Checkpoints are tens of MB (fine-tuning states ~135 MB): leave nothing behind in /tmp.
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('embed --json', async () => {
    const out = path.join(dir, 'features.safetensors');
    const r = await runCli(['embed', '--checkpoint', checkpoints.state, '--data', store, '--split', 'val', '--out', out, '--device', 'cpu', '--json']);
    expect(r.stderr).not.toContain('ERR_');
    expect(r.code).toBe(0);
    expect(onlyJson(r.stdout)).toMatchObject({ out, split: 'val', count: 24, blockChannels: [64, 128, 256, 512], embeddingDim: 32 });
  });

  test('embed --out: a missing folder is created; a path under a file is refused before any image is computed', async () => {
    const nested = path.join(dir, 'feats', 'deeper', 'val.safetensors');
    const ok = await runCli(['embed', '--checkpoint', checkpoints.state, '--data', store, '--split', 'val', '--out', nested, '--device', 'cpu', '--json']);
    expect(ok.stderr).not.toContain('ERR_');
    expect(ok.code).toBe(0);
    expect(existsSync(nested)).toBe(true);
    const file = path.join(dir, 'a-file');
    writeFileSync(file, 'x');
    const bad = await runCli(['embed', '--checkpoint', checkpoints.state, '--data', store, '--split', 'val', '--out', path.join(file, 'val.safetensors'), '--device', 'cpu']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/ERR_IO: --out .*a-file is a file, so the file cannot be created under it/);
    expect(bad.stderr).not.toMatch(/images|img\/s|\d+\/\d+/); // no progress: nothing was computed
  });

  test('eval linear --json and eval probe --json', async () => {
    const out = path.join(dir, 'linear');
    const linear = await runCli(['eval', 'linear', '--checkpoint', checkpoints.backbone, '--data', store, '--out', out, '--fraction', '0.5', '--weight-decays', '1e-2,1e-4', '--device', 'cpu', '--json']);
    expect(linear.code).toBe(0);
    const l = onlyJson(linear.stdout) as { kind: string; blocks: Array<{ sweep: unknown[] }>; counts: { train: number } };
    expect(l.kind).toBe('linear');
    expect(l.blocks[0].sweep).toHaveLength(2);
    expect(l.counts.train).toBe(24);
    const probe = await runCli(['eval', 'probe', '--checkpoint', checkpoints.backbone, '--data', store, '--out', out, '--blocks', '1,4', '--device', 'cpu', '--json']);
    expect(probe.code).toBe(0);
    expect((onlyJson(probe.stdout) as { blocks: Array<{ block: number }> }).blocks.map((b) => b.block)).toEqual([1, 4]);
  });

  test('eval finetune --json, and a missing initialisation is one error line', async () => {
    const out = path.join(dir, 'finetune');
    const r = await runCli(['eval', 'finetune', '--from-scratch', '--arch', 'resnet18', '--stem', 'small', '--data', store, '--out', out, '--max-steps', '4', '--eval-every', '2', '--device', 'cpu', '--json']);
    expect(r.code).toBe(0);
    expect(onlyJson(r.stdout)).toMatchObject({ kind: 'finetune', stepsCompleted: 4, fromScratch: true });
    const resumed = await runCli(['eval', 'finetune', '--resume', '--out', out, '--max-steps', '6', '--json']);
    expect(resumed.stderr).not.toContain('ERR_');
    expect(onlyJson(resumed.stdout)).toMatchObject({ stepsCompleted: 6, history: [{ step: 2 }, { step: 4 }, { step: 6 }] });
    const bad = await runCli(['eval', 'finetune', '--data', store, '--out', path.join(dir, 'bad'), '--device', 'cpu']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^imlm-native: ERR_INVALID_ARG: .*--from-scratch/m);
  });
});
