/**
 * A c10d process group for work outside training: distributed evaluation gathers each rank's
 * features through one (lib/eval/sharded-features.ts). Gloo on CPU tensors, or NCCL on this
 * rank's GPU (cuda:localRank) when named.
 */
import { ImlmError } from '../errors';
import { native, type NativeProcessGroup } from '../native';
import { resolveDistOptions, type DistOptions } from './dist-options';

export type ProcessGroup = NativeProcessGroup;

export type ProcessGroupOptions = Pick<DistOptions, 'rank' | 'worldSize' | 'localRank' | 'masterAddr' | 'masterPort' | 'backend' | 'timeoutSeconds'>;

/**
 * Joins the run; the Promise settles when every rank has arrived (ERR_DISTRIBUTED after
 * `timeoutSeconds`, default 1800). Close it with group.close() when done.
 */
export function createProcessGroup(options: ProcessGroupOptions): Promise<ProcessGroup> {
  if (options.backend !== undefined && !['auto', 'gloo', 'nccl'].includes(options.backend)) {
    throw new ImlmError(`Expected backend 'auto', 'gloo' or 'nccl' but received '${options.backend}'`, 'ERR_INVALID_ARG');
  }
  // Evaluation tensors live on the CPU: 'auto' is Gloo here, whatever the device.
  return native().createProcessGroup(resolveDistOptions({ ...options, backend: options.backend === 'nccl' ? 'nccl' : 'gloo' }));
}
