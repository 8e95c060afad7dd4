/**
 * What the commands that can run as ranks of a distributed run share (train; embed and
 * eval linear|probe): the launcher's flag, the backend check, starting the built-in launcher,
 * and, for evaluation, joining the run's process group.
 */
import type { Command } from 'commander';
import { ImlmError } from '../errors';
import { info } from '../info';
import type { NativeProcessGroup } from '../native';
import { readDistEnv, type DistEnv } from '../distributed/env';
import { launchLocal } from '../distributed/launcher';
import { createProcessGroup } from '../distributed/process-group';
import { augmentDeviceFor } from '../train/trainer';
import { int, num } from './flags';
import { defaultText } from './default-text';
import { kDistDefaults } from '../distributed/dist-options';

export type DistBackendName = 'auto' | 'gloo' | 'nccl';

export interface DistFlags {
  nprocPerNode?: number;
  distBackend: DistBackendName;
  distTimeout?: number;
}

/** --nproc-per-node, --dist-backend, --dist-timeout for an evaluation command. */
export function evalDistOptions(command: Command): Command {
  return command
    .option('--nproc-per-node <n>', 'start n ranks on this machine that share the feature extraction (docs/distributed.md); under torchrun or srun leave it out (default: one process, no ranks)', int)
    .option('--dist-backend <name>', 'c10d backend that gathers the features: auto (gloo, on CPU tensors) | gloo | nccl', 'auto')
    .option('--dist-timeout <s>', `seconds the rendezvous and each collective may take before the run fails ${defaultText(kDistDefaults.timeoutSeconds)}`, num);
}

/** The arguments this process was started with, minus the launcher's own flag (what each rank runs). */
export function withoutLauncherFlag(argv: string[]): string[] {
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--nproc-per-node') {
      i++;
      continue;
    }
    if (argv[i].startsWith('--nproc-per-node=')) continue;
    args.push(argv[i]);
  }
  return args;
}

export function checkNprocPerNode(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new ImlmError(`Expected --nproc-per-node to be a positive integer but received ${n}`, 'ERR_INVALID_ARG');
}

export function checkDistBackend(name: string): asserts name is DistBackendName {
  if (!['auto', 'gloo', 'nccl'].includes(name)) {
    throw new ImlmError(`Expected --dist-backend auto, gloo or nccl but received '${name}'`, 'ERR_INVALID_ARG');
  }
}

/** A rank's device: 'auto' and 'cuda' become its own GPU (cuda:LOCAL_RANK) when there is CUDA. */
export async function rankDevice(device: string, dist: DistEnv): Promise<string> {
  if (device !== 'auto' && device !== 'cuda') return device;
  return augmentDeviceFor(device, (await info()).cuda.available, dist.localRank);
}

/** This rank's place and the c10d settings, as both training and the evaluation commands pass them on. */
export function rankOptions(dist: DistEnv, flags: { distBackend: DistBackendName; distTimeout?: number }) {
  return {
    rank: dist.rank,
    worldSize: dist.worldSize,
    localRank: dist.localRank,
    masterAddr: dist.masterAddr,
    masterPort: dist.masterPort,
    backend: flags.distBackend,
    timeoutSeconds: flags.distTimeout,
  };
}

export interface EvalRank {
  /** Null when this process runs alone. */
  group: NativeProcessGroup | null;
  dist: DistEnv | null;
  /** Rank 0, or a process alone: prints, shows progress and writes. */
  lead: boolean;
}

/**
 * Runs an evaluation command as what this process is: with --nproc-per-node (and no launcher
 * variables), the launcher of that many ranks of the same command; under torchrun, srun or the
 * launcher, one rank in the run's process group (closed when `body` ends); else alone.
 */
export async function runEvalRank(flags: DistFlags, body: (rank: EvalRank) => Promise<void>): Promise<void> {
  checkDistBackend(flags.distBackend);
  const dist = readDistEnv();
  if (flags.nprocPerNode !== undefined && !dist) {
    checkNprocPerNode(flags.nprocPerNode);
    const result = await launchLocal({ nprocPerNode: flags.nprocPerNode, args: withoutLauncherFlag(process.argv.slice(1)) });
    process.exitCode = result.exitCode;
    return;
  }
  if (!dist || dist.worldSize === 1) {
    await body({ group: null, dist: null, lead: true });
    return;
  }
  const group = await createProcessGroup(rankOptions(dist, flags));
  try {
    if (dist.rank === 0) {
      process.stderr.write(
        `imlm-native: rank 0 of ${dist.worldSize} (${dist.launcher}, master ${dist.masterAddr}:${dist.masterPort}, ${group.backend}): ` +
          `each rank computes a shard of the features; rank 0 writes the results\n`,
      );
    }
    await body({ group, dist, lead: dist.rank === 0 });
  } finally {
    group.close();
  }
}
