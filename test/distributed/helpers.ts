/** Spawning the ranks of a test run as real processes on 127.0.0.1 (test/dist). */
import { mkdtempSync, readFileSync, rmSync } from 'fs';
import os from 'os';
import path from 'path';
import { native } from '../../lib/native';
import { freePort } from '../../lib/distributed/launcher';
import { repoRoot, runNode, type RunResult } from '../helpers/run';

export const rankFixture = path.join(repoRoot, 'test/distributed/fixtures/rank.js');
const tempDirs: string[] = [];
/** A fresh temporary folder, removed by removeTempDirs() (training states here are ~130 MB each). */
export const tmp = () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'imlm-dist-'));
  tempDirs.push(dir);
  return dir;
};
/** Call from afterAll: the disk is shared. */
export function removeTempDirs(): void {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** Whether this build has the Gloo process group (Debian: libgloo-dev at build time). */
export const hasGloo = () => native().distBackends().includes('gloo');

/** A node process with `env` added to this one's (test/helpers/run.ts runNode). */
export function spawnNode(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 120000): Promise<RunResult> {
  return runNode(args, { env, timeoutMs });
}

/** The variables torchrun sets for rank r of n on one machine. */
export function torchrunEnv(rank: number, n: number, port: number): NodeJS.ProcessEnv {
  return { RANK: String(rank), LOCAL_RANK: String(rank), WORLD_SIZE: String(n), LOCAL_WORLD_SIZE: String(n), MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port) };
}

/** The variables srun sets for task r of n on one node (no MASTER_*: derived from the job). */
export function slurmEnv(rank: number, n: number, jobId: number): NodeJS.ProcessEnv {
  return {
    SLURM_PROCID: String(rank), SLURM_NTASKS: String(n), SLURM_LOCALID: String(rank), SLURM_JOB_ID: String(jobId),
    SLURM_JOB_NODELIST: 'localhost', SLURM_NTASKS_PER_NODE: String(n),
    RANK: undefined, WORLD_SIZE: undefined, MASTER_ADDR: undefined, MASTER_PORT: undefined,
  };
}

export interface FixtureSpec {
  steps: number;
  globalBatch: number;
  config?: Record<string, unknown>;
  shuffleBn?: boolean;
  syncBn?: boolean;
  /** One rank in a process group of its own (torchrun variables, world size 1). */
  forceGroup?: boolean;
  bucketMb?: number;
  identicalViews?: boolean;
  source?: 'fixed' | 'tensor';
  /** Leave the source unsharded (a mistake the trainer must refuse). */
  noShard?: boolean;
  poolSize?: number;
}

export interface RankOutput {
  metrics: Array<{ loss: number; infoNce: number; blocks: number[] }>;
  state: string;
}

/** Runs the fixture as `world` ranks (1: a single process without any launcher variables). */
export async function runFixture(spec: FixtureSpec, world: number): Promise<RankOutput[]> {
  const out = tmp();
  const port = await freePort();
  const json = JSON.stringify({ ...spec, out });
  const clean = { RANK: undefined, WORLD_SIZE: undefined, SLURM_PROCID: undefined, SLURM_NTASKS: undefined };
  const started = Date.now();
  const results = await Promise.all(
    Array.from({ length: world }, (_, r) => spawnNode([rankFixture, json], world === 1 && !spec.forceGroup ? clean : { ...clean, ...torchrunEnv(r, world, port) })),
  );
  if (process.env.IMLM_TEST_TIMING) process.stderr.write(`fixture ×${world}: ${Date.now() - started} ms\n`);
  results.forEach((r, rank) => {
    if (r.code !== 0) throw new Error(`rank ${rank} exited with ${r.code}: ${r.stderr}`);
  });
  return Array.from({ length: world }, (_, r) => ({
    metrics: JSON.parse(readFileSync(path.join(out, `rank${r}.json`), 'utf8')).metrics,
    state: path.join(out, `rank${r}.safetensors`),
  }));
}
