/**
 * Setting up a pre-training run, before lib/train/pretrain.ts trains it: what it trains on (a
 * prepared store, the demo store, or the built-in synthetic set), its configuration (preset ←
 * overlay ← the store's shape ← the caller's overrides), the checks that need no training (the
 * run folder, the channels, the batch across ranks), the record that lets --resume find the data
 * again (data.json) and the batch source. `imlm-native train`, `imlm-native paper`
 * (lib/paper/run-paper.ts) and the benchmarks (scripts/bench) call these instead of their own copies.
 */
import { existsSync, promises as fs } from 'fs';
import path from 'path';
import {
  demoOverlay,
  kRunDefaults,
  mergeOverrides,
  resolveTrainConfig,
  type Arch,
  type IntermediateLossName,
  type TrainConfig,
  type TrainConfigOverrides,
} from '../config/train-config';
import { availableDemoStore, kDemoInstallCommand } from '../data/demo';
import { resolvePolicy, type AugmentPolicy } from '../data/policies';
import { loadSplit, readManifest, type Manifest } from '../data/store';
import { ImlmError } from '../errors';
import { info } from '../info';
import { assertFreshRunFolder, assertResumableRunFolder, readRunJson, writeRunJson } from '../run-folder';
import { createKnnMonitor, type KnnMonitor } from './knn-monitor';
import { readRunConfig } from './pretrain';
import { augmentDeviceFor, syntheticSource, tensorSource, type BatchSource, type Shard } from './trainer';

/** What a run trains on, recorded in the run folder (data.json) so a resumed run finds it again. */
export interface DataChoice {
  kind: 'store' | 'synthetic';
  /** The prepared store's absolute path (kind 'store'). */
  store?: string;
  /** Whether no data set was given: the demo store, or the synthetic set in its place. */
  demo: boolean;
  /** Augmentation policy name or policy file (lib/data/policies.ts). */
  augment: string;
}

/** The fields a command line sets one by one, over the preset and any configuration file. */
export interface TrainSettings {
  arch?: Arch;
  stem?: TrainConfig['stem'];
  loss?: IntermediateLossName;
  /** Train until this many steps are completed (the configuration's totalSteps). */
  steps?: number;
  batchSize?: number;
  imageSize?: number;
  /** Input channels (the configuration's inChannels): the store's by default. */
  channels?: number;
  queueSize?: number;
  lr?: number;
  device?: string;
  precision?: TrainConfig['precision'] | 'auto';
  seed?: number;
  /** CPU threads of the run (the configuration's threads; 0 = one per core). */
  threads?: number;
}

/**
 * What a --resume request asks that the run's own record (config.json, data.json) does not say:
 * one line per difference. Only the run length (`settings.steps`) may change on resume (the
 * checkpoint cadence is pretrain's option and not part of the request).
 */
export function resumeConflicts(r: Pick<TrainRunRequest, 'data' | 'augment' | 'preset' | 'overrides' | 'settings'>, config: TrainConfig, data: DataChoice): string[] {
  const out: string[] = [];
  const differs = (flag: string, asked: unknown, has: unknown) => {
    if (asked !== undefined && JSON.stringify(asked) !== JSON.stringify(has)) out.push(`${flag} ${JSON.stringify(asked)} (the run has ${JSON.stringify(has)})`);
  };
  if (r.data !== undefined) {
    const has = data.kind === 'store' ? data.store : 'the built-in synthetic set';
    if (path.resolve(r.data) !== has) out.push(`--data ${r.data} (the run trains on ${has})`);
  }
  differs('--augment', r.augment, data.augment);
  if (r.preset !== undefined) out.push(`--preset ${r.preset} (a resumed run keeps its own configuration, config.json)`);
  const s = r.settings ?? {};
  differs('--arch', s.arch, config.arch);
  differs('--stem', s.stem, config.stem);
  differs('--loss', s.loss, config.intermediate.loss);
  differs('--batch-size', s.batchSize, config.batchSize);
  differs('--image-size', s.imageSize, config.imageSize);
  differs('--channels', s.channels, config.inChannels);
  differs('--queue-size', s.queueSize, config.queueSize);
  differs('--lr', s.lr, config.optimizer.lr);
  differs('--precision', s.precision === 'auto' ? undefined : s.precision, config.precision);
  differs('--seed', s.seed, config.seed);
  differs('--device', s.device, config.device);
  differs('--threads', s.threads, config.threads);
  if (r.overrides !== undefined) out.push('--config (a resumed run keeps its own configuration, config.json)');
  return out;
}

/** Refuses a --resume request that would change the run (ERR_INVALID_ARG listing every difference). */
export function checkResumeRequest(outDir: string, r: Parameters<typeof resumeConflicts>[0], config: TrainConfig, data: DataChoice): void {
  const conflicts = resumeConflicts(r, config, data);
  if (conflicts.length) {
    throw new ImlmError(
      `--resume ${outDir} continues that run as it was configured, but this command asks for ${conflicts.join('; ')}. ` +
        'Only --steps and --checkpoint-every may change on --resume: drop the other flags, or start a new run in another folder',
      'ERR_INVALID_ARG',
    );
  }
}

/** Finds the demo store for a run without data; null trains on the synthetic set instead. */
export type DemoStoreFinder = (log: (message: string) => void) => Promise<string | null>;

export function dataJsonPath(outDir: string): string {
  return path.join(outDir, 'data.json');
}

/** A run folder's data.json, checked field by field (ERR_FORMAT naming the file and the field). */
export async function readDataChoice(outDir: string): Promise<DataChoice> {
  const file = dataJsonPath(outDir);
  const d = (await readRunJson(file, 'the record of the training data')) as Record<string, unknown>;
  const bad = (field: string, expected: string, value: unknown) =>
    new ImlmError(`${file}: Expected ${expected} for ${field} but received ${JSON.stringify(value)}; restore the run's own data.json or start a new run in another folder`, 'ERR_FORMAT');
  if (typeof d !== 'object' || d === null || Array.isArray(d)) throw bad('the file', 'a JSON object', d);
  if (d.kind !== 'store' && d.kind !== 'synthetic') throw bad('kind', "'store' or 'synthetic'", d.kind);
  if (d.kind === 'store' && (typeof d.store !== 'string' || d.store === '')) throw bad('store', 'the path of a prepared data set', d.store);
  if (typeof d.demo !== 'boolean') throw bad('demo', 'true or false', d.demo);
  if (typeof d.augment !== 'string' || d.augment === '') throw bad('augment', 'an augmentation policy name or file', d.augment);
  return d as unknown as DataChoice;
}

/** Checks a folder a run is to resume in: a checkpoint, a valid config.json and data.json. */
export async function checkResumableTrainRun(outDir: string): Promise<void> {
  assertResumableRunFolder(outDir);
  await readRunConfig(outDir);
  await readDataChoice(outDir);
}

/**
 * Checks what a new run is given, before anything is written or prepared: the preset, the
 * configuration the overrides and settings make (by the configuration's schema, so that a bad
 * value is refused before the demo store is prepared), the run folder (no checkpoint), the
 * store's manifest.
 */
export async function checkNewTrainRun(o: { outDir: string; preset?: string; data?: string; overrides?: TrainConfigOverrides; settings?: TrainSettings }): Promise<void> {
  resolveRunConfig({ preset: o.preset, overrides: o.overrides, settings: o.settings, cuda: false });
  assertFreshRunFolder(o.outDir);
  if (o.data) await readManifest(o.data);
}

/**
 * A new run's data: the given store, else the demo store (found by `demoStore`, default: the demo
 * store when Fashion-MNIST is installed — lib/data/demo.ts), else the built-in synthetic set.
 */
export async function chooseTrainData(o: { data?: string; augment?: string; demoStore?: DemoStoreFinder; log?: (message: string) => void }): Promise<DataChoice> {
  const augment = o.augment ?? kRunDefaults.augment;
  if (o.data) return { kind: 'store', store: path.resolve(o.data), demo: false, augment };
  const demo = await (o.demoStore ?? availableDemoStore)(o.log ?? (() => {}));
  return demo ? { kind: 'store', store: demo, demo: true, augment } : { kind: 'synthetic', demo: true, augment };
}

/** The settings as configuration overrides (steps → totalSteps, channels → inChannels, loss and lr into their sections). */
function settingsOverrides(s: TrainSettings): TrainConfigOverrides {
  return {
    arch: s.arch,
    stem: s.stem,
    imageSize: s.imageSize,
    batchSize: s.batchSize,
    queueSize: s.queueSize,
    inChannels: s.channels as TrainConfig['inChannels'] | undefined,
    device: s.device,
    precision: s.precision,
    seed: s.seed,
    threads: s.threads,
    totalSteps: s.steps,
    ...(s.loss !== undefined ? { intermediate: { loss: s.loss } } : {}),
    ...(s.lr !== undefined ? { optimizer: { lr: s.lr } } : {}),
  };
}

export interface RunConfigRequest {
  /** Default 'kaku2021' (lib/config/train-config.ts). */
  preset?: string;
  /** An overlay of lib/config/train-config.ts laid over the preset (e.g. demoOverlay). */
  overlay?: TrainConfigOverrides;
  /** The store's image side: over the overlay, under `overrides` and `settings`. */
  imageSize?: number;
  /** Configuration fields (e.g. a --config file). */
  overrides?: TrainConfigOverrides;
  /** The store's channels: over `overrides`, under `settings.channels`. */
  inChannels?: number;
  settings?: TrainSettings;
  /** Whether CUDA will be used (what 'auto' means). */
  cuda: boolean;
}

/**
 * The run's configuration: preset ← overlay ← the store's image side ← overrides ← the store's
 * channels ← settings, resolved and validated once by the configuration's schema.
 */
export function resolveRunConfig(r: RunConfigRequest): TrainConfig {
  const merged = mergeOverrides(
    r.overlay,
    { imageSize: r.imageSize },
    r.overrides,
    { inChannels: r.inChannels as TrainConfig['inChannels'] | undefined },
    settingsOverrides(r.settings ?? {}),
  );
  return resolveTrainConfig(r.preset ?? kRunDefaults.preset, merged, { cuda: r.cuda });
}

/** Refuses a configuration whose inChannels the store cannot feed. */
export function checkChannels(manifest: Manifest, store: string, config: TrainConfig): void {
  if (manifest.channels !== config.inChannels) {
    throw new ImlmError(
      `the data set ${store} has ${manifest.channels} channel(s) but the configuration expects inChannels ${config.inChannels}; pass --channels ${manifest.channels} or another --data`,
      'ERR_INVALID_ARG',
    );
  }
}

/** Refuses a global batch that the ranks cannot share equally. */
export function checkBatchAcrossRanks(config: TrainConfig, worldSize: number, resumed: boolean): void {
  if (config.batchSize % worldSize !== 0) {
    throw new ImlmError(
      `the batch size ${config.batchSize} is the global batch and must be divisible by the ${worldSize} ranks` +
        (resumed ? ' (this run was resumed with another number of ranks: use one that divides it)' : ''),
      'ERR_INVALID_ARG',
    );
  }
}

/**
 * The batch source of a run and what it trains on, in words. A store's train split is loaded
 * (memory-mapped) and handed to the source, which keeps its own reference.
 */
export async function createTrainSource(
  data: DataChoice,
  config: TrainConfig,
  o: { cuda: boolean; policy?: AugmentPolicy; shard?: Shard; localRank?: number },
): Promise<{ source: BatchSource; description: string }> {
  const policy = o.policy ?? resolvePolicy(data.augment);
  if (data.kind === 'synthetic') {
    const source = syntheticSource({ channels: config.inChannels, imageSize: config.imageSize, batchSize: config.batchSize, seed: config.seed, policy, shard: o.shard });
    return {
      source,
      description: `no --data given and Fashion-MNIST is not installed (${kDemoInstallCommand}): training on the built-in synthetic data set (${source.describe()})`,
    };
  }
  const split = await loadSplit(data.store!, 'train');
  try {
    checkChannels(split.manifest, data.store!, config);
    const source = tensorSource(split.images, {
      batchSize: config.batchSize, imageSize: config.imageSize, seed: config.seed, policy, shard: o.shard,
      augmentDevice: augmentDeviceFor(config.device, o.cuda, o.localRank),
    });
    const count = split.manifest.splits.train!.count;
    return {
      source,
      description: data.demo
        ? `no --data given: training on the demo data set, Fashion-MNIST (${data.store}, train split, ${count} images)`
        : `training on ${data.store} (train split, ${count} images)`,
    };
  } finally {
    for (const t of [split.images, split.labels, split.ids]) t.dispose(); // the source keeps its own reference
  }
}

export interface TrainRunRequest {
  /** The run folder. */
  outDir: string;
  /** Continue the run in outDir: its own data.json and config.json are used; only `steps` may change (resumeConflicts). */
  resume?: boolean;
  /** A prepared store; without it the demo store or the synthetic set (see chooseTrainData). */
  data?: string;
  /** Augmentation policy name or file (default 'mocov2'). */
  augment?: string;
  /** Default 'kaku2021'. */
  preset?: string;
  /** Configuration fields over the preset (e.g. a --config file). Without them a demo run gets demoOverlay. */
  overrides?: TrainConfigOverrides;
  settings?: TrainSettings;
  demoStore?: DemoStoreFinder;
  /** This rank's place in a data-parallel run; rank 0 alone writes data.json. */
  shard?: Shard & { localRank?: number };
  /** Whether CUDA will be used (default: whether it is available, unless settings.device is 'cpu'). */
  cuda?: boolean;
  /** Told about housekeeping, e.g. preparing the demo store. */
  log?: (message: string) => void;
  /** Check and build everything but write nothing to outDir (no data.json): `train --print-config`. */
  dryRun?: boolean;
}

export interface TrainRun {
  outDir: string;
  resume: boolean;
  data: DataChoice;
  config: TrainConfig;
  /** The step count to train until. */
  steps: number;
  source: BatchSource;
  cuda: boolean;
  /** What the run trains on and how, in one line (without the rank). */
  description: string;
}

/**
 * Everything before training: the data (a new run's choice, or a resumed run's data.json), the
 * configuration (resolved, or a resumed run's config.json), the checks (the batch across ranks;
 * the channels when the source is created), the source, and a new run's data.json — written by
 * rank 0 once nothing can be refused any more. Pass the result's config, source, outDir, steps
 * and resume to pretrain().
 */
export async function prepareTrainRun(r: TrainRunRequest): Promise<TrainRun> {
  const resume = r.resume === true;
  const settings = r.settings ?? {};
  const cuda = r.cuda ?? (settings.device === 'cpu' ? false : (await info()).cuda.available);
  // A policy file is read once: checked here before any work, then handed to the source.
  const checkedPolicy = resume ? undefined : resolvePolicy(r.augment ?? kRunDefaults.augment);
  const data = resume ? await readDataChoice(r.outDir) : await chooseTrainData({ data: r.data, augment: r.augment, demoStore: r.demoStore, log: r.log });
  const policy = checkedPolicy ?? resolvePolicy(data.augment);
  const manifest = data.kind === 'store' ? await readManifest(data.store!) : null;
  // A resumed run keeps its own configuration; only the step count may extend it.
  const config = resume
    ? await readRunConfig(r.outDir)
    : resolveRunConfig({
        preset: r.preset,
        overlay: data.demo && !r.overrides ? demoOverlay : undefined,
        imageSize: manifest?.imageSize[0],
        overrides: r.overrides,
        inChannels: manifest?.channels,
        settings,
        cuda,
      });
  if (resume) checkResumeRequest(r.outDir, r, config, data);
  const steps = settings.steps ?? config.totalSteps;
  if (r.shard) checkBatchAcrossRanks(config, r.shard.worldSize, resume);
  const { source, description } = await createTrainSource(data, config, {
    cuda, policy, shard: r.shard && { rank: r.shard.rank, worldSize: r.shard.worldSize }, localRank: r.shard?.localRank,
  });
  if (!resume && !r.dryRun) {
    assertFreshRunFolder(r.outDir); // before data.json is written over another run's
    await fs.mkdir(r.outDir, { recursive: true });
    if ((r.shard?.rank ?? 0) === 0) await writeRunJson(dataJsonPath(r.outDir), data);
  }
  return { outDir: r.outDir, resume, data, config, steps, source, cuda, description };
}

/**
 * Takes back what prepareTrainRun wrote for a new run that pretrain refused before it touched the
 * folder (no config.json yet: e.g. --init weights that do not fit): data.json, and the folder
 * itself when this command created it and it is now empty. A refused run leaves nothing behind.
 */
export async function discardUnstartedRun(run: TrainRun, createdFolder: boolean): Promise<void> {
  if (run.resume || existsSync(path.join(run.outDir, 'config.json'))) return;
  await fs.rm(dataJsonPath(run.outDir), { force: true });
  if (createdFolder && (await fs.readdir(run.outDir)).length === 0) await fs.rmdir(run.outDir);
}

/**
 * The kNN monitor of a run (lib/train/knn-monitor.ts): on when the run trains on a store whose
 * images have one label each, unless `every` is 0; by default five times a run (every ⌈steps/5⌉
 * steps) on 256 bank and 256 query rows. `{ skipped }` says why a store cannot be monitored; null: off.
 */
export async function knnMonitorFor(run: TrainRun, o: { every?: number; size?: number } = {}): Promise<KnnMonitor | { skipped: string } | null> {
  if (o.every === 0 || run.data.kind !== 'store') return null;
  return createKnnMonitor(run.data.store!, { every: o.every ?? Math.max(1, Math.ceil(run.steps / 5)), size: o.size });
}

/** The line a command prints before training: the data, the network, the budget and the run folder. */
export function describeTrainRun(run: TrainRun, rank = ''): string {
  const c = run.config;
  const device = c.device === 'auto' ? (run.cuda ? 'cuda' : 'cpu') : c.device;
  return (
    `${run.description}${rank} — ${c.arch} (${c.stem} stem), ${c.imageSize}×${c.imageSize}, augmentation ${run.data.augment}, loss ${c.intermediate.loss}, ` +
    `${run.steps} steps of ${c.batchSize}, device ${device}; run folder ${run.outDir}`
  );
}
