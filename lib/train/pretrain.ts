/**
 * A pre-training run in a run folder: config.json, the logs of every progress report
 * (metrics.jsonl, metrics.csv and a TensorBoard event file: lib/run-logs/run-log.ts), checkpoints/last.safetensors (written atomically every `checkpointEvery` steps and
 * at the end), backbone.safetensors (torchvision names) at the end. Resumable: the same
 * folder with `resume: true` continues from the last checkpoint and gives the same losses as
 * an uninterrupted run.
 */
import { existsSync, promises as fs } from 'fs';
import path from 'path';
import { removeStaleTemporaries } from '../atomic-write';
import { checkTrainConfig, type TrainConfig } from '../config/train-config';
import { ImlmError, isImlmError } from '../errors';
import { assertFreshRunFolder, assertResumableRunFolder, lastCheckpointPath, readRunJson, writeRunJson } from '../run-folder';
import { RunLog } from '../run-logs/run-log';
import { kPretrainColumns, pretrainScalars } from '../run-logs/scalars';
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
  /** Save a checkpoint every this many steps: an integer >= 1 (default: a tenth of the run, at least 1). */
  checkpointEvery?: number;
  /** Told about housekeeping, e.g. stale temporaries of an interrupted save that were removed. */
  onNotice?: (message: string) => void;
  /** Progress every this many steps (default 10). */
  reportEvery?: number;
  onProgress?: (progress: Progress) => void;
  /** Aborting finishes the current step, saves a checkpoint and resolves with cancelled: true. */
  signal?: AbortSignal;
  /** torchvision-named weights to start both encoders from (ignored on resume). */
  init?: string;
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
  await fs.mkdir(paths.checkpoints, { recursive: true });
  if (lead) {
    // Temporaries of a save that a killed process left behind (never a live process's).
    const stale = await removeStaleTemporaries([options.outDir, paths.checkpoints]);
    if (stale.length) options.onNotice?.(`removed ${stale.length} stale temporary file(s) of an interrupted save: ${stale.join(', ')}`);
  }
  if (!options.resume && lead) await writeRunJson(paths.config, config);
  const target = options.steps ?? config.totalSteps;
  const trainer = await Trainer.create(config, options.dist);
  if (options.resume) {
    await trainer.load(paths.last);
  } else if (options.init) {
    await trainer.loadBackbone(options.init);
  }
  const checkpointEvery = options.checkpointEvery ?? Math.max(1, Math.ceil(target / 10));
  const log = lead ? await RunLog.open(options.outDir, { columns: kPretrainColumns, resume: options.resume ? { stepsCompleted: trainer.stepsCompleted } : undefined }) : null;
  // Reports arrive synchronously from the native loop; their writes are chained so that they
  // land in order, and awaited after each chunk so that an I/O error stops the run.
  let logged = Promise.resolve();
  let last: StepMetrics | null = null;
  let cancelled = false;
  let images = 0;
  let seconds = 0;
  try {
    while (trainer.stepsCompleted < target && !cancelled) {
      const chunk = Math.min(checkpointEvery, target - trainer.stepsCompleted);
      let summary;
      try {
        summary = await trainer.run(options.source, {
          steps: chunk,
          reportEvery: options.reportEvery ?? 10,
          signal: options.signal,
          onProgress: (p) => {
            if (log) logged = logged.then(() => log.write(p.step, p, pretrainScalars(p)));
            if (lead) options.onProgress?.(p);
          },
        });
        await logged;
        if (summary.stepsRun > 0 && lead) await trainer.save(paths.last, { world_size: String(trainer.worldSize) });
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
    await logged;
  }
  let backbone: string | null = null;
  if (!cancelled && lead) {
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
