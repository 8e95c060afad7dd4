/**
 * Full fine-tuning at a label fraction (`eval finetune`, docs/method.md, "Fine-tuning in the reference"): from a pre-trained
 * checkpoint or from scratch (the supervised baseline), the paper's settings by default (Adam
 * 1e-3, no weight decay, batch 16, the data set's augmentation), evaluated on the validation
 * split every `evalEvery` steps (default one epoch), the best evaluation's network kept
 * (checkpoints/best.safetensors), early stopping after `patience` evaluations without
 * improvement, and the test predictions made by the selected network — not the last one
 * (docs/method.md Q7). The steps run natively on a worker thread; checkpoints are atomic and the run
 * resumes from checkpoints/last.safetensors + progress.json.
 */
import { existsSync, promises as fs } from 'fs';
import path from 'path';
import { validate } from '../config/validate';
import { ImlmError } from '../errors';
import { native, type NativeFinetuner } from '../native';
import { resolvePolicy, type AugmentPolicy } from '../data/policies';
import { readManifest, type Manifest } from '../data/store';
import { absolute } from './absolute-path';
import { disposeSplit, loadEvalSplit, type EvalSplit } from './eval-split';
import { fractionRows } from './label-fraction';
import { checkMetric, defaultMetric, type SelectionMetric } from './selection-metric';
import { classCount, labelledTask } from './task';
import { resolveImageSize } from './features';
import { formatError } from '../data/json-file';
import { readCheckedRunJson, writeRunJson } from '../run-folder';
import { finetuneOptionsSchema, finetuneProgressSchema, savedFinetuneConfigSchema, kEvalDefaults, kFinetuneDefaults, kLightPolicy, kPolicyBySource } from './options';
import { writePredictions } from './predictions';
import type { Arch } from '../config/archs';
import { RunLog } from '../run-logs/run-log';
import { finetuneScalars, kFinetuneColumns } from '../run-logs/scalars';

export interface FinetuneOptions {
  /** Pre-trained weights (training state or backbone). Required unless fromScratch. */
  checkpoint?: string;
  /** Random initialisation: the supervised baseline. */
  fromScratch?: boolean;
  /** From scratch: architecture and stem (default resnet50, standard); input channels are the store's. */
  arch?: Arch;
  stem?: 'standard' | 'small';
  zeroInitResidual?: boolean;
  store: string;
  outDir: string;
  fraction?: number;
  /** Draw the label fraction anew with this seed (stratified, nested, as `prepare` records it) instead of using the store's recorded rows. */
  fractionSeed?: number;
  /** Training augmentation: a policy name or object (default: kaku2021-cxr/dr/bch by the store's source, else a light crop + flip). */
  augment?: string | Partial<AugmentPolicy>;
  lr?: number;
  weightDecay?: number;
  batchSize?: number;
  /** Budget in epochs of the labelled subset (default 100, the paper's). */
  epochs?: number;
  /** Budget in steps (overrides epochs). */
  maxSteps?: number;
  /** Steps between validations (default: one epoch). */
  evalEvery?: number;
  /** Stop after this many validations without improvement (default 10). */
  patience?: number;
  metric?: SelectionMetric;
  imageSize?: number;
  predictBatchSize?: number;
  /** Training progress every this many steps (default 10, and at the end of every stretch between validations). */
  reportEvery?: number;
  device?: string;
  threads?: number;
  seed?: number;
  /** Continue the run in outDir from checkpoints/last.safetensors. */
  resume?: boolean;
  onProgress?: (p: FinetuneProgress) => void;
  signal?: AbortSignal;
}

export type FinetuneProgress =
  | { stage: 'train'; step: number; maxSteps: number; loss: number }
  | { stage: 'validate'; step: number; epoch: number; valMetric: number; best: number | null };

export interface Evaluation {
  step: number;
  epoch: number;
  trainLoss: number;
  valMetric: number;
}

interface RunState {
  history: Evaluation[];
  best: Evaluation | null;
  sinceBest: number;
  stoppedEarly: boolean;
}

export interface FinetuneResult {
  kind: 'finetune';
  outDir: string;
  results: string;
  cancelled: boolean;
  initialisation: string;
  fromScratch: boolean;
  task: string;
  metric: SelectionMetric;
  fraction: number;
  counts: { train: number; val: number; test: number };
  settings: { lr: number; weightDecay: number; batchSize: number; maxSteps: number; evalEvery: number; patience: number; stepsPerEpoch: number; augment: string | Partial<AugmentPolicy>; imageSize: number; seed: number };
  stepsCompleted: number;
  history: Evaluation[];
  best: Evaluation | null;
  stoppedEarly: boolean;
  bestCheckpoint: string | null;
  test: { metric: SelectionMetric; value: number } | null;
  predictions: string | null;
  seconds: number;
}

/**
 * progress.json, checked (lib/eval/options.ts finetuneProgressSchema) and with the NaN that JSON
 * wrote as null restored; ERR_FORMAT naming the file and field otherwise.
 */
async function readProgress(file: string): Promise<RunState> {
  const todo = 'the run folder is damaged; start a new run in another --out';
  type Stored = { history: Array<Record<keyof Evaluation, number | null>>; best: Record<keyof Evaluation, number | null> | null; sinceBest: number; stoppedEarly: boolean };
  const stored = await readCheckedRunJson<Stored>(file, finetuneProgressSchema, todo);
  const restore = (e: Record<keyof Evaluation, number | null>): Evaluation => ({ step: e.step!, epoch: e.epoch!, trainLoss: e.trainLoss ?? NaN, valMetric: e.valMetric ?? NaN });
  if (stored.sinceBest > stored.history.length) throw formatError(file, '/sinceBest', `at most the ${stored.history.length} validations of /history`, `${stored.sinceBest}`, todo);
  if (stored.best !== null && !stored.history.some((h) => h.step === stored.best!.step)) {
    throw formatError(file, '/best/step', 'the step of a validation in /history', `${stored.best.step}`, todo);
  }
  return { history: stored.history.map(restore), best: stored.best && restore(stored.best), sinceBest: stored.sinceBest, stoppedEarly: stored.stoppedEarly };
}

type Validated = Omit<FinetuneOptions, 'onProgress' | 'signal'>;

export function finetunePaths(outDir: string) {
  return {
    config: path.join(outDir, 'config.json'),
    last: path.join(outDir, 'checkpoints', 'last.safetensors'),
    best: path.join(outDir, 'checkpoints', 'best.safetensors'),
    progress: path.join(outDir, 'progress.json'),
    predictions: path.join(outDir, 'predictions-test.safetensors'),
    results: path.join(outDir, 'results.json'),
  };
}

function defaultAugment(manifest: Manifest): string | Partial<AugmentPolicy> {
  return kPolicyBySource[manifest.sourceFormat] ?? kLightPolicy;
}

type ResolvedOptions = Validated & { imageSize: number; augment: string | Partial<AugmentPolicy> };

/** The run's settings, and its augmentation policy read once (a policy file is read here only). */
async function resolveOptions(options: Validated, manifest: Manifest): Promise<{ options: ResolvedOptions; policy: AugmentPolicy }> {
  if (!options.fromScratch && !options.checkpoint) {
    throw new ImlmError('fine-tuning needs --checkpoint <file> (pre-trained weights) or --from-scratch (random initialisation)', 'ERR_INVALID_ARG');
  }
  if (options.fromScratch && options.checkpoint) {
    throw new ImlmError('give either --checkpoint or --from-scratch, not both', 'ERR_INVALID_ARG');
  }
  const augment = options.augment ?? defaultAugment(manifest);
  const policy = resolvePolicy(augment); // an unknown name fails before any work
  const imageSize = options.checkpoint ? await resolveImageSize(options.checkpoint, manifest, options.imageSize) : (options.imageSize ?? manifest.imageSize[0]);
  return { options: { ...options, augment, imageSize, checkpoint: options.checkpoint ? absolute(options.checkpoint) : undefined }, policy };
}

async function saveState(ft: NativeFinetuner, file: string, o: { imageSize: number }, manifest: Manifest, fraction: number): Promise<void> {
  await ft.save(file, {
    image_size: String(o.imageSize),
    task: labelledTask(manifest),
    classes: JSON.stringify(manifest.classes),
    fraction: String(fraction),
    initialisation: ft.initialisation,
    created: new Date().toISOString(),
  });
}

export async function finetune(options: FinetuneOptions): Promise<FinetuneResult> {
  const { onProgress, signal, ...rest } = options;
  const start = Date.now();
  const paths = finetunePaths(rest.outDir ?? '');
  let o: ResolvedOptions;
  let policy: AugmentPolicy;
  if (rest.resume) {
    if (!existsSync(paths.last) || !existsSync(paths.config)) {
      throw new ImlmError(`cannot resume: ${paths.last} does not exist; start a new run without --resume`, 'ERR_INVALID_ARG');
    }
    // The run's own settings; only the budget (epochs, maxSteps, patience) may be changed.
    const saved = await readCheckedRunJson<ResolvedOptions>(paths.config, savedFinetuneConfigSchema, 'the run folder is damaged; start a new run in another --out');
    const budget = Object.fromEntries(
      (['epochs', 'maxSteps', 'patience'] as const).filter((k) => rest[k] !== undefined).map((k) => [k, rest[k]]),
    );
    if (budget.epochs !== undefined && budget.maxSteps === undefined) delete saved.maxSteps;
    o = { ...saved, ...budget, resume: true };
    policy = resolvePolicy(o.augment);
    await writeRunJson(paths.config, { ...o, resume: undefined });
  } else {
    const validated = validate<Validated>(finetuneOptionsSchema, rest, 'options');
    if (existsSync(paths.last)) {
      throw new ImlmError(`the run folder ${validated.outDir} already holds a fine-tuning checkpoint; pass --resume to continue it or choose another --out`, 'ERR_INVALID_ARG');
    }
    ({ options: o, policy } = await resolveOptions(validated, await readManifest(validated.store)));
    await fs.mkdir(path.dirname(paths.last), { recursive: true });
    await writeRunJson(paths.config, { ...o, resume: undefined });
  }
  const fraction = o.fraction ?? 1;
  const defaults = kFinetuneDefaults;
  const splits: EvalSplit[] = [];
  let rows: ReturnType<typeof fractionRows>['rows'] = null;
  try {
    const train = await loadEvalSplit(o.store, 'train');
    splits.push(train);
    const val = await loadEvalSplit(o.store, 'val');
    splits.push(val);
    const testSplit = await loadEvalSplit(o.store, 'test');
    splits.push(testSplit);
    const manifest = train.manifest;
    const metric = checkMetric(manifest.task, o.metric ?? defaultMetric(manifest.task));
    const selected = fractionRows(manifest, train.ids, fraction, o.fractionSeed === undefined ? undefined : { seed: o.fractionSeed, labels: train.labels });
    rows = selected.rows;
    const ft = await native().createFinetuner(
      {
        checkpoint: o.checkpoint,
        arch: o.arch ?? defaults.arch,
        stem: o.stem ?? defaults.stem,
        inChannels: manifest.channels,
        zeroInitResidual: o.zeroInitResidual ?? defaults.zeroInitResidual,
        task: labelledTask(manifest),
        numClasses: classCount(manifest),
        lr: o.lr ?? defaults.lr,
        weightDecay: o.weightDecay ?? defaults.weightDecay,
        batchSize: o.batchSize ?? defaults.batchSize,
        policy,
        imageSize: o.imageSize,
        device: o.device ?? kEvalDefaults.device,
        seed: o.seed ?? kEvalDefaults.seed,
        threads: o.threads ?? kEvalDefaults.threads,
      },
      train.images,
      train.labels,
      rows ?? undefined,
    );
    const stepsPerEpoch = ft.stepsPerEpoch;
    const maxSteps = o.maxSteps ?? (o.epochs ?? defaults.epochs) * stepsPerEpoch;
    const evalEvery = o.evalEvery ?? stepsPerEpoch;
    const patience = o.patience ?? defaults.patience;
    const predictBatchSize = o.predictBatchSize ?? defaults.predictBatchSize;
    let state: RunState = { history: [], best: null, sinceBest: 0, stoppedEarly: false };
    if (o.resume) {
      await ft.load(paths.last);
      if (existsSync(paths.progress)) state = await readProgress(paths.progress);
    }

    // metrics.jsonl / metrics.csv / TensorBoard: every train report and every validation.
    const log = await RunLog.open(o.outDir, { columns: kFinetuneColumns, resume: o.resume ? { stepsCompleted: ft.stepsCompleted } : undefined });
    const report = (p: FinetuneProgress) => {
      log.enqueue(p.step, p, finetuneScalars(p));
      onProgress?.(p);
    };

    let lastLoss = NaN;
    const validateNow = async () => {
      const probabilities = await ft.predict(val.images, { batchSize: predictBatchSize });
      let valMetric: number;
      try {
        valMetric = await native().selectionMetric(probabilities, val.labels, manifest.task, metric);
      } finally {
        probabilities.dispose();
      }
      const evaluation: Evaluation = { step: ft.stepsCompleted, epoch: ft.stepsCompleted / stepsPerEpoch, trainLoss: lastLoss, valMetric };
      state.history.push(evaluation);
      // NaN (an undefined AUC) never improves on a defined best.
      const improved = state.best === null || (!Number.isNaN(valMetric) && (Number.isNaN(state.best.valMetric) || valMetric > state.best.valMetric));
      if (improved) {
        state.best = evaluation;
        state.sinceBest = 0;
        await saveState(ft, paths.best, o, manifest, fraction);
      } else {
        state.sinceBest += 1;
      }
      state.stoppedEarly = state.sinceBest >= patience;
      // Order matters for resuming: the checkpoint first, then the record that refers to it.
      await saveState(ft, paths.last, o, manifest, fraction);
      await writeRunJson(paths.progress, state);
      report({ stage: 'validate', step: evaluation.step, epoch: evaluation.epoch, valMetric, best: state.best?.valMetric ?? null });
      await log.flush();
    };

    // A crash between the checkpoint and progress.json leaves one step count unvalidated.
    const lastValidated = state.history.length ? state.history[state.history.length - 1].step : 0;
    if (o.resume && ft.stepsCompleted > lastValidated) await validateNow();

    let cancelled = false;
    const onAbort = () => ft.cancel();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      while (!state.stoppedEarly && ft.stepsCompleted < maxSteps) {
        if (signal?.aborted) {
          cancelled = true;
          break;
        }
        const steps = Math.min(evalEvery - (ft.stepsCompleted % evalEvery), maxSteps - ft.stepsCompleted);
        const summary = await ft.run({
          steps,
          reportEvery: Math.max(1, Math.min(o.reportEvery ?? 10, steps)),
          onProgress: (p) => report({ stage: 'train', step: p.done, maxSteps, loss: p.value }),
        });
        if (summary.stepsRun > 0) lastLoss = summary.meanLoss;
        if (summary.cancelled) {
          cancelled = true;
          if (summary.stepsRun > 0) {
            await saveState(ft, paths.last, o, manifest, fraction);
            await writeRunJson(paths.progress, state);
          }
          break;
        }
        await validateNow();
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
      await log.flush();
    }

    const stepsCompleted = ft.stepsCompleted; // loading the best state below rewinds the counter
    let test: FinetuneResult['test'] = null;
    let predictions: string | null = null;
    if (!cancelled && state.best) {
      await ft.load(paths.best); // the selected network, not the last one (docs/method.md Q7)
      const probabilities = await ft.predict(testSplit.images, { batchSize: predictBatchSize });
      try {
        await writePredictions(paths.predictions, {
          ids: testSplit.ids,
          labels: testSplit.labels,
          probabilities,
          manifest,
          model: `fine-tuned ${ft.network.arch} from ${ft.initialisation}, fraction ${fraction}, selected at step ${state.best.step} (val ${metric} ${state.best.valMetric})`,
        });
        test = { metric, value: await native().selectionMetric(probabilities, testSplit.labels, manifest.task, metric) };
        predictions = paths.predictions;
      } finally {
        probabilities.dispose();
      }
    }
    const result: FinetuneResult = {
      kind: 'finetune',
      outDir: o.outDir,
      results: paths.results,
      cancelled,
      initialisation: ft.initialisation,
      fromScratch: !o.checkpoint,
      task: labelledTask(manifest),
      metric,
      fraction,
      counts: { train: selected.count, val: val.ids.shape[0], test: testSplit.ids.shape[0] },
      settings: {
        lr: o.lr ?? defaults.lr,
        weightDecay: o.weightDecay ?? defaults.weightDecay,
        batchSize: o.batchSize ?? defaults.batchSize,
        maxSteps,
        evalEvery,
        patience,
        stepsPerEpoch,
        augment: o.augment,
        imageSize: o.imageSize,
        seed: o.seed ?? 0,
      },
      stepsCompleted,
      history: state.history,
      best: state.best,
      stoppedEarly: state.stoppedEarly,
      bestCheckpoint: state.best ? paths.best : null,
      test,
      predictions,
      seconds: (Date.now() - start) / 1000,
    };
    if (!cancelled) await writeRunJson(paths.results, { ...result, created: new Date().toISOString() });
    return result;
  } finally {
    rows?.dispose();
    for (const s of splits) disposeSplit(s);
  }
}
