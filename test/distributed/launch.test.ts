// Starting a data-parallel run: the built-in launcher, torchrun's variables and SLURM's variables
// each start 2 ranks of the real CLI on 127.0.0.1; a rank killed mid-run ends the whole run with
// a message naming it; a run resumes on another number of ranks. Real processes, real files.
import { existsSync, readFileSync, writeFileSync } from 'fs';
import net from 'net';
import path from 'path';
import { spawn } from 'child_process';
import { Trainer, checkTrainConfig } from '../../lib';
import { freePort } from '../../lib/distributed/launcher';
import { cliPath, repoRoot } from '../helpers/run';
import { hasGloo, removeTempDirs, slurmEnv, spawnNode, tmp, torchrunEnv } from './helpers';

const describeGloo = hasGloo() ? describe : describe.skip;

afterAll(removeTempDirs);

/** A tiny run on the synthetic data set (no Fashion-MNIST), one intra-op thread per rank. */
function smallRun(): { flags: string[]; env: NodeJS.ProcessEnv } {
  const dir = tmp();
  const config = path.join(dir, 'tiny.json');
  writeFileSync(config, JSON.stringify({ embeddingDim: 32, threads: 1 }));
  return {
    flags: ['--config', config, '--arch', 'resnet18', '--stem', 'small', '--image-size', '16', '--batch-size', '8', '--queue-size', '64', '--device', 'cpu'],
    env: { IMLM_FASHION_MNIST_DIR: path.join(dir, 'absent'), XDG_CACHE_HOME: dir, RANK: undefined, WORLD_SIZE: undefined, SLURM_PROCID: undefined, SLURM_NTASKS: undefined },
  };
}

/** A SLURM job id whose derived port (20000 + id mod 10000, lib/distributed/env.ts) is free now. */
async function slurmJobWithFreePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const id = 1000 + Math.floor(Math.random() * 9000);
    const free = await new Promise<boolean>((resolve) => {
      const server = net.createServer();
      server.once('error', () => resolve(false));
      server.listen(20000 + id, '127.0.0.1', () => server.close(() => resolve(true)));
    });
    if (free) return id;
  }
  throw new Error('no free port in 20000..29999');
}

const metricsSteps = (out: string) =>
  readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { step: number }).step);

describeGloo('starting a 2-rank run', () => {
  test('the built-in launcher: --nproc-per-node 2', async () => {
    const { flags, env } = smallRun();
    const out = path.join(tmp(), 'run');
    const r = await spawnNode([cliPath, 'train', ...flags, '--steps', '3', '--checkpoint-every', '2', '--nproc-per-node', '2', '--out', out, '--json'], env);
    expect(r.stderr).toMatch(/started 2 ranks on 127\.0\.0\.1:\d+: rank 0 pid \d+, rank 1 pid \d+/);
    expect(r.stderr).toMatch(/rank 0 of 2 \(torchrun, master 127\.0\.0\.1:\d+\), 4 images per rank/);
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout.trim().split('\n').pop()!);
    expect(result).toMatchObject({ stepsCompleted: 3, cancelled: false });
    expect(existsSync(path.join(out, 'checkpoints', 'last.safetensors'))).toBe(true);
    expect(existsSync(path.join(out, 'backbone.safetensors'))).toBe(true);
    expect(metricsSteps(out)).toEqual([2, 3]); // rank 0 alone writes metrics
  }, 180000);

  test("torchrun's variables (RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT)", async () => {
    const { flags, env } = smallRun();
    const out = path.join(tmp(), 'run');
    const port = await freePort();
    const ranks = await Promise.all([0, 1].map((r) => spawnNode([cliPath, 'train', ...flags, '--steps', '2', '--out', out, '--json'], { ...env, ...torchrunEnv(r, 2, port) })));
    ranks.forEach((r) => expect(r.code).toBe(0));
    expect(JSON.parse(ranks[0].stdout)).toMatchObject({ stepsCompleted: 2 });
    expect(ranks[1].stdout).toBe(''); // only rank 0 reports
    expect(ranks[0].stderr).toMatch(`rank 0 of 2 (torchrun, master 127.0.0.1:${port})`);
  }, 180000);

  test("SLURM's variables (SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID; master from the node list and job id)", async () => {
    const { flags, env } = smallRun();
    const out = path.join(tmp(), 'run');
    const job = await slurmJobWithFreePort();
    const ranks = await Promise.all([0, 1].map((r) => spawnNode([cliPath, 'train', ...flags, '--steps', '2', '--out', out, '--json'], { ...env, ...slurmEnv(r, 2, job) })));
    ranks.forEach((r) => expect(r.code).toBe(0));
    expect(JSON.parse(ranks[0].stdout)).toMatchObject({ stepsCompleted: 2 });
    expect(ranks[0].stderr).toMatch(`rank 0 of 2 (slurm, master localhost:${20000 + job})`);
  }, 180000);

  test('a rank killed mid-run stops the run within 60 s, naming it; the last checkpoint loads', async () => {
    const { flags, env } = smallRun();
    const out = path.join(tmp(), 'run');
    const child = spawn(process.execPath, [cliPath, 'train', ...flags, '--steps', '100000', '--checkpoint-every', '2', '--nproc-per-node', '2', '--out', out], {
      cwd: repoRoot,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    const last = path.join(out, 'checkpoints', 'last.safetensors');
    const deadline = Date.now() + 120000;
    while (!(existsSync(last) && /rank 1 pid (\d+)/.test(stderr)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    const pid = Number(/rank 1 pid (\d+)/.exec(stderr)![1]);
    const killedAt = Date.now();
    process.kill(pid, 'SIGKILL');
    const code = await exited;
    expect(Date.now() - killedAt).toBeLessThan(60000);
    expect(code).not.toBe(0);
    // (“; stopping the other 1 rank(s)” follows when rank 0 has not already stopped on its own.)
    expect(stderr).toMatch(/imlm-native: rank 1 was killed by SIGKILL/);
    // The checkpoint rank 0 last wrote (atomically) is whole.
    const trainer = await Trainer.create(checkTrainConfig(JSON.parse(readFileSync(path.join(out, 'config.json'), 'utf8'))));
    await trainer.load(last);
    expect(trainer.stepsCompleted % 2).toBe(0);
    expect(trainer.stepsCompleted).toBeGreaterThan(0);
  }, 180000);

  test('without a launcher (torchrun variables), the survivor of a killed rank fails within 60 s with ERR_DISTRIBUTED', async () => {
    const { flags, env } = smallRun();
    const out = path.join(tmp(), 'run');
    const port = await freePort();
    const children = [0, 1].map((r) =>
      spawn(process.execPath, [cliPath, 'train', ...flags, '--steps', '100000', '--checkpoint-every', '2', '--out', out], {
        cwd: repoRoot,
        env: { ...process.env, ...env, ...torchrunEnv(r, 2, port) },
        stdio: ['ignore', 'ignore', 'pipe'],
      }),
    );
    let stderr0 = '';
    children[0].stderr!.on('data', (d) => (stderr0 += d));
    children[1].stderr!.resume();
    const exit0 = new Promise<number | null>((resolve) => children[0].on('close', resolve));
    const last = path.join(out, 'checkpoints', 'last.safetensors');
    const deadline = Date.now() + 120000;
    while (!existsSync(last) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    const killedAt = Date.now();
    children[1].kill('SIGKILL');
    const code = await exit0;
    expect(Date.now() - killedAt).toBeLessThan(60000);
    expect(code).not.toBe(0);
    expect(stderr0).toMatch(/imlm-native: ERR_DISTRIBUTED: rank 0: .* failed: .*another rank has probably stopped/);
  }, 180000);

  test('Ctrl-C on the launcher stops every rank after the same step; rank 0 saves a checkpoint', async () => {
    const { flags, env } = smallRun();
    const out = path.join(tmp(), 'run');
    const child = spawn(process.execPath, [cliPath, 'train', ...flags, '--steps', '100000', '--checkpoint-every', '1000', '--nproc-per-node', '2', '--out', out, '--json'], {
      cwd: repoRoot,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    let stdout = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.stdout.on('data', (d) => (stdout += d));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    const deadline = Date.now() + 120000;
    // Both ranks are stepping once rank 0 has logged a step to metrics.jsonl.
    const metrics = path.join(out, 'metrics.jsonl');
    const stepped = () => existsSync(metrics) && readFileSync(metrics, 'utf8').trim().length > 0;
    while (!stepped() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect(stepped()).toBe(true);
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    const result = JSON.parse(stdout.trim().split('\n').pop()!);
    expect(result.cancelled).toBe(true);
    expect(result.stepsCompleted).toBeGreaterThan(0);
    expect(stderr).not.toMatch(/ERR_DISTRIBUTED|was killed/);
    const trainer = await Trainer.create(checkTrainConfig(JSON.parse(readFileSync(path.join(out, 'config.json'), 'utf8'))));
    await trainer.load(path.join(out, 'checkpoints', 'last.safetensors'));
    expect(trainer.stepsCompleted).toBe(result.stepsCompleted);
  }, 180000);

  test('SIGINT to one rank alone (torchrun variables) stops both after the same step', async () => {
    const { flags, env } = smallRun();
    const out = path.join(tmp(), 'run');
    const port = await freePort();
    const children = [0, 1].map((r) =>
      spawn(process.execPath, [cliPath, 'train', ...flags, '--steps', '100000', '--checkpoint-every', '3', '--out', out, '--json'], {
        cwd: repoRoot,
        env: { ...process.env, ...env, ...torchrunEnv(r, 2, port) },
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    const outputs = children.map((c) => {
      const o = { stdout: '', stderr: '' };
      c.stdout!.on('data', (d) => (o.stdout += d));
      c.stderr!.on('data', (d) => (o.stderr += d));
      return o;
    });
    const exits = children.map((c) => new Promise<number | null>((resolve) => c.on('close', resolve)));
    const last = path.join(out, 'checkpoints', 'last.safetensors');
    const deadline = Date.now() + 120000;
    while (!existsSync(last) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    children[1].kill('SIGINT');
    expect(await Promise.all(exits)).toEqual([130, 130]);
    expect(outputs[1].stderr).toMatch(/stopping after the current step/);
    const result = JSON.parse(outputs[0].stdout.trim().split('\n').pop()!);
    expect(result.cancelled).toBe(true);
    const trainer = await Trainer.create(checkTrainConfig(JSON.parse(readFileSync(path.join(out, 'config.json'), 'utf8'))));
    await trainer.load(last);
    expect(trainer.stepsCompleted).toBe(result.stepsCompleted);
  }, 180000);

  test('a 1-process run resumes on 2 ranks (the global batch is split anew); 3 ranks are refused', async () => {
    const { flags, env } = smallRun();
    const out = path.join(tmp(), 'run');
    expect((await spawnNode([cliPath, 'train', ...flags, '--steps', '2', '--out', out, '--json'], env)).code).toBe(0);
    const two = await spawnNode([cliPath, 'train', '--resume', '--steps', '4', '--nproc-per-node', '2', '--out', out, '--json'], env);
    expect(two.code).toBe(0);
    expect(JSON.parse(two.stdout.trim().split('\n').pop()!)).toMatchObject({ stepsCompleted: 4 });
    const three = await spawnNode([cliPath, 'train', '--resume', '--steps', '6', '--nproc-per-node', '3', '--out', out], env);
    expect(three.code).not.toBe(0);
    expect(three.stderr).toMatch(/the batch size 8 is the global batch and must be divisible by the 3 ranks \(this run was resumed with another number of ranks/);
  }, 180000);
});
