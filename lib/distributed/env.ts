/**
 * Where this process stands in a distributed run, read from its launcher's environment:
 * torchrun (RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT, LOCAL_WORLD_SIZE), SLURM's
 * srun (SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID; the master address and port from
 * MASTER_ADDR/MASTER_PORT or derived from the job), or imlm-native's own `--nproc-per-node`
 * launcher (which sets the torchrun variables). No variables: one process.
 */
import { ImlmError } from '../errors';

export type DistLauncher = 'torchrun' | 'slurm' | 'none';

export interface DistEnv {
  rank: number;
  worldSize: number;
  localRank: number;
  localWorldSize: number;
  masterAddr: string;
  masterPort: number;
  /** Which environment the values came from. */
  launcher: DistLauncher;
}

/** The port torchrun uses by default. */
export const kDefaultMasterPort = 29500;

function intVar(env: NodeJS.ProcessEnv, name: string, min: number): number {
  const raw = env[name];
  const n = Number(raw);
  if (raw === undefined || raw.trim() === '' || !Number.isInteger(n) || n < min) {
    throw new ImlmError(`Expected the environment variable ${name} to be an integer >= ${min} but received '${raw ?? ''}'`, 'ERR_INVALID_ARG');
  }
  return n;
}

function optionalInt(env: NodeJS.ProcessEnv, name: string, min: number, fallback: number): number {
  return env[name] === undefined || env[name] === '' ? fallback : intVar(env, name, min);
}

/**
 * SLURM's node list "node[01-04],gpu7" → its first host ("node01"), the usual master when
 * MASTER_ADDR is not exported (the first task of the job runs there).
 */
export function firstSlurmHost(nodeList: string): string {
  const match = /^([^,[]+)(?:\[([^\]]+)\])?/.exec(nodeList.trim());
  if (!match) return nodeList;
  const [, prefix, ranges] = match;
  if (!ranges) return prefix;
  const first = ranges.split(',')[0].split('-')[0];
  return prefix + first;
}

/** A port in 20000..29999 derived from the SLURM job id, so every task of the job agrees on it. */
function slurmPort(jobId: string | undefined): number {
  const id = Number(jobId);
  return Number.isInteger(id) ? 20000 + (id % 10000) : kDefaultMasterPort;
}

/** Reads the launcher variables; null when the process runs alone. Checks every value. */
export function readDistEnv(env: NodeJS.ProcessEnv = process.env): DistEnv | null {
  if (env.WORLD_SIZE !== undefined && env.RANK !== undefined) {
    const worldSize = intVar(env, 'WORLD_SIZE', 1);
    const rank = intVar(env, 'RANK', 0);
    if (rank >= worldSize) throw new ImlmError(`Expected RANK < WORLD_SIZE but received RANK ${rank} and WORLD_SIZE ${worldSize}`, 'ERR_INVALID_ARG');
    const localRank = optionalInt(env, 'LOCAL_RANK', 0, rank);
    return {
      rank,
      worldSize,
      localRank,
      localWorldSize: optionalInt(env, 'LOCAL_WORLD_SIZE', 1, worldSize),
      masterAddr: env.MASTER_ADDR || '127.0.0.1',
      masterPort: optionalInt(env, 'MASTER_PORT', 1, kDefaultMasterPort),
      launcher: 'torchrun',
    };
  }
  if (env.SLURM_PROCID !== undefined && env.SLURM_NTASKS !== undefined) {
    const worldSize = intVar(env, 'SLURM_NTASKS', 1);
    const rank = intVar(env, 'SLURM_PROCID', 0);
    if (rank >= worldSize) throw new ImlmError(`Expected SLURM_PROCID < SLURM_NTASKS but received ${rank} and ${worldSize}`, 'ERR_INVALID_ARG');
    const nodeList = env.SLURM_STEP_NODELIST || env.SLURM_JOB_NODELIST || env.SLURM_NODELIST;
    return {
      rank,
      worldSize,
      localRank: optionalInt(env, 'SLURM_LOCALID', 0, 0),
      // SLURM writes e.g. "4" or "4(x2)" (4 tasks on each of 2 nodes): the leading count.
      localWorldSize: Number.parseInt(env.SLURM_NTASKS_PER_NODE ?? env.SLURM_STEP_TASKS_PER_NODE ?? '', 10) || worldSize,
      masterAddr: env.MASTER_ADDR || (nodeList ? firstSlurmHost(nodeList) : '127.0.0.1'),
      masterPort: env.MASTER_PORT ? intVar(env, 'MASTER_PORT', 1) : slurmPort(env.SLURM_JOB_ID),
      launcher: 'slurm',
    };
  }
  return null;
}
