/**
 * A rank's place in a data-parallel run with every field resolved: the native layer takes no
 * defaults (native/bridge/dist_convert.cc reads each field), so they live here.
 */
import type { NativeDistOptions } from '../native';
import { kDefaultMasterPort } from './env';
import { withDefaults } from '../with-defaults';

/** What a caller gives: rank and world size, anything else as kDistDefaults says. */
export type DistOptions = Pick<NativeDistOptions, 'rank' | 'worldSize'> & Partial<NativeDistOptions>;

/**
 * Rendezvous at 127.0.0.1:29500 (torchrun's), the backend by device (NCCL on CUDA, Gloo on the
 * CPU), c10d's 30-minute timeout, DDP's 25 MB gradient buckets, MoCo's shuffle-BN.
 */
export const kDistDefaults = {
  masterAddr: '127.0.0.1',
  masterPort: kDefaultMasterPort,
  backend: 'auto',
  timeoutSeconds: 1800,
  bucketMb: 25,
  shuffleBn: true,
  syncBn: false,
  forceGroup: false,
} as const satisfies Omit<NativeDistOptions, 'rank' | 'worldSize' | 'localRank'>;

/** `dist` with every field given (undefined: one process); localRank defaults to the rank. */
export function resolveDistOptions(dist: DistOptions | undefined): NativeDistOptions {
  const d = dist ?? { rank: 0, worldSize: 1 };
  return withDefaults({ ...kDistDefaults, localRank: d.rank }, d);
}

/** A source that serves the whole of each batch (one process). */
export const kWholeBatch = { rank: 0, worldSize: 1 } as const;
