/**
 * A pre-training run in a run folder: config.json; the logs of every progress report
 * (metrics.jsonl, metrics.csv and a TensorBoard event file: lib/run-logs/run-log.ts);
 * checkpoints/last.safetensors, written atomically every `checkpointEvery` steps and at the end;
 * backbone.safetensors (torchvision names) at the end, a stopped run's too. Resumable: the same
 * folder with `resume: true` continues from the last checkpoint and gives the same losses as an
 * uninterrupted run.
 */
import { existsSync, promises as fs } from 'fs';
import path from 'path';
import { removeStaleTemporaries } from '../atomic-write';
import { checkTrainConfig, kRunDefaults, type InitChannels, type TrainConfig } from '../config/train-config';
import { ImlmError, isImlmError } from '../errors';
import { assertFreshRunFolder, assertResumableRunFolder, lastCheckpointPath, readRunJson, writeRunJson } from '../run-folder';
import { RunLog } from '../run-logs/run-log';
import { kPretrainColumns, pretrainScalars } from '../run-logs/scalars';
import type { KnnMonitor } from './knn-monitor';
import { Trainer, type BatchSource, type DistOptions, type Progress, type StepMetrics } from './trainer';

export interface PretrainOptions {
  /** The resolved configuration (ignored on resume: the run folder's config.json is used). */
  config: TrainConfig;
  source: BatchSource;
  /** The run folder; created if missing. */
  outDir: string;
  /** Train until this many steps are completed (default config.totalSteps). */
  steps?: number;
  /** Continue from outDir/checkpoints/last.safetensors. */
  resume?: boolean;
  /**
   * Save a checkpoint every this many steps: an integer >= 1 (default: a tenth of the run, rounded
   * up to a multiple of reportEvery, so that the checkpoints fall on report steps).
   */
  checkpointEvery?: number;
  /** Told about housekeeping, e.g. stale temporaries of an interrupted save that were removed. */
  onNotice?: (message: string) => void;
  /**
   * Progress at every step that is a multiple of this (default 10), and at the end. A run also
   * reports where a checkpoint or a monitor step is off those multiples (the native run ends there).
   */
  reportEvery?: number;
  onProgress?: (progress: Progress) => void;
  /**
   * The online kNN monitor (lib/train/knn-monitor.ts): measured every `monitor.every` steps and at
   * the end, logged as monitor/knn_top1, told to onMonitor. Rank 0 only.
   */
  monitor?: KnnMonitor;
  onMonitor?: (m: { step: number; top1: number; top5: number }) => void;
  /** Aborting finishes the current step, saves a checkpoint and resolves with cancelled: true. */
  signal?: AbortSignal;
  /** torchvision-named weights to start both encoders from (ignored on resume). */
  init?: string;
  /**
   * When `init`'s conv1 has another number of input channels than the network: 'refuse'
   * (default) or 'sum' (e.g. ImageNet RGB weights into a 1-channel network; Trainer.loadBackbone).
   */
  initChannels?: InitChannels;
  /**
   * Data-parallel: this process's rank (docs/distributed.md). Every rank calls pretrain with the
   * same options and its own `dist.rank` and a source sharded for it; rank 0 alone writes
   * config.json, metrics, checkpoints and the backbone. All ranks resume from the same
   * checkpoint, at any number of ranks that divides the batch size.
   */
  dist?: DistOptions;
}

export interface PretrainResult {
  stepsCompleted: number;
  cancelled: boolean;
  last: StepMetrics | null;
  checkpoint: string;
  backbone: string | null;
  imagesPerSecond: number;
}

export function runPaths(outDir: string) {
  return {
    config: path.join(outDir, 'config.json'),
    metrics: path.join(outDir, 'metrics.jsonl'),
    checkpoints: path.join(outDir, 'checkpoints'),
    last: lastCheckpointPath(outDir),
    backbone: path.join(outDir, 'backbone.safetensors'),
  };
}

/** A run folder's config.json, checked: a bad one is ERR_FORMAT naming the file and the field. */
export async function readRunConfig(outDir: string): Promise<TrainConfig> {
  const file = runPaths(outDir).config;
  const parsed = await readRunJson(file, 'the run configuration');
  try {
    return checkTrainConfig(parsed);
  } catch (e) {
    throw new ImlmError(`${file}: ${(e as Error).message}; restore the run's own config.json or start a new run in another folder`, 'ERR_FORMAT');
  }
}

function checkCount(name: string, value: number | undefined): void {
  if (value !== undefined && (!Number.isInteger(value) || value < 1)) {
    throw new ImlmError(`Expected an integer >= 1 for ${name} but received ${value}`, 'ERR_INVALID_ARG');
  }
}

export async function pretrain(options: PretrainOptions): Promise<PretrainResult> {
  const paths = runPaths(options.outDir);
  const lead = (options.dist?.rank ?? 0) === 0; // the one rank that writes files
  // Everything is checked before the folder is touched: a refused run leaves nothing behind.
  checkCount('checkpointEvery', options.checkpointEvery);
  checkCount('steps', options.steps);
  checkCount('reportEvery', options.reportEvery);
  let config: TrainConfig;
  if (options.resume) {
    assertResumableRunFolder(options.outDir);
    config = await readRunConfig(options.outDir);
  } else {
    assertFreshRunFolder(options.outDir);
    config = checkTrainConfig(options.config);
  }
  const trainer = await Trainer.create(config, options.dist);
  // --init weights are loaded before the folder is written: weights that do not fit leave nothing behind.
  if (!options.resume && options.init) await trainer.loadBackbone(options.init, { initChannels: options.initChannels });
  await fs.mkdir(paths.checkpoints, { recursive: true });
  if (lead) {
    // Temporaries of a save that a killed process left behind (never a live process's).
    const stale = await removeStaleTemporaries([options.outDir, paths.checkpoints]);
    if (stale.length) options.onNotice?.(`removed ${stale.length} stale temporary file(s) of an interrupted save: ${stale.join(', ')}`);
  }
  if (!options.resume && lead) await writeRunJson(paths.config, config);
  const target = options.steps ?? config.totalSteps;
  if (options.resume) await trainer.load(paths.last);
  // Reports fall on the multiples of reportEvery (Trainer.run counts them from step 0) and at the
  // end of each native run (a chunk): the default chunk is a multiple of reportEvery, so that with
  // it the reports are exactly the multiples (and the last step).
  const reportEvery = options.reportEvery ?? kRunDefaults.reportEvery;
  const checkpointEvery = options.checkpointEvery ?? reportEvery * Math.ceil(Math.max(1, Math.ceil(target / 10)) / reportEvery);
  const log = lead ? await RunLog.open(options.outDir, { columns: kPretrainColumns, resume: options.resume ? { stepsCompleted: trainer.stepsCompleted } : undefined }) : null;
  let last: StepMetrics | null = null;
  let cancelled = false;
  let images = 0;
  let seconds = 0;
  try {
    let sinceSave = 0;
    const monitor = lead ? options.monitor : undefined; // rank 0 alone: its forward needs no collective
    while (trainer.stepsCompleted < target && !cancelled) {
      const done = trainer.stepsCompleted;
      // Chunks end at checkpoints and at monitor steps; the steps themselves do not depend on where chunks end.
      const chunk = Math.min(checkpointEvery - sinceSave, target - done, monitor ? monitor.every - (done % monitor.every) : Infinity);
      let summary;
      try {
        summary = await trainer.run(options.source, {
          steps: chunk,
          reportEvery,
          signal: options.signal,
          onProgress: (p) => {
            log?.enqueue(p.step, p, pretrainScalars(p));
            if (lead) options.onProgress?.(p);
          },
        });
        await log?.flush(); // after each chunk, so that an I/O error stops the run
        sinceSave += summary.stepsRun;
        const end = trainer.stepsCompleted >= target || summary.cancelled;
        if (summary.stepsRun > 0 && (sinceSave >= checkpointEvery || end)) {
          if (lead) await trainer.save(paths.last, { world_size: String(trainer.worldSize) });
          sinceSave = 0; // on every rank: the ranks' chunks must stay the same
        }
        if (monitor && summary.stepsRun > 0 && !summary.cancelled && (trainer.stepsCompleted % monitor.every === 0 || end)) {
          const knn = await monitor.measure(trainer);
          const step = trainer.stepsCompleted;
          await log?.write(step, { monitor: { knnTop1: knn.top1, knnTop5: knn.top5, queries: knn.queries } }, { 'monitor/knn_top1': knn.top1 });
          options.onMonitor?.({ step, top1: knn.top1, top5: knn.top5 });
        }
      } catch (error) {
        if (isImlmError(error) && error.code === 'ERR_NON_FINITE') {
          const kept = existsSync(paths.last) ? `the last good checkpoint is ${paths.last}` : 'no checkpoint had been written yet';
          throw new ImlmError(`${error.message} (${kept})`, 'ERR_NON_FINITE', { cause: error });
        }
        throw error;
      }
      last = summary.last ?? last;
      cancelled = summary.cancelled;
      images += summary.imagesPerSecond * summary.seconds;
      seconds += summary.seconds;
      if (summary.stepsRun === 0 && !cancelled) break; // the source ran out
    }
  } finally {
    await log?.flush();
  }
  // A stopped run exports too: its backbone is the checkpoint's, ready to evaluate while it waits to resume.
  let backbone: string | null = null;
  if (lead && trainer.stepsCompleted > 0) {
    await trainer.exportBackbone(paths.backbone);
    backbone = paths.backbone;
  }
  return {
    stepsCompleted: trainer.stepsCompleted,
    cancelled,
    last,
    checkpoint: paths.last,
    backbone,
    imagesPerSecond: seconds > 0 ? images / seconds : 0,
  };
}
