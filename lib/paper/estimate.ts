/**
 * How long `paper` will take, measured before it starts: a few timed pre-training steps of the
 * costliest self-supervised method and a few timed fine-tuning steps with their validation and
 * test predictions, scaled by the number of cells. The measurement runs in a scratch folder that
 * is removed afterwards; it is an estimate (the machine's load, early stopping and the analyses
 * move it), and the report prints it beside the wall clock of every stage.
 */
import { promises as fs } from 'fs';
import path from 'path';
import type { TrainConfig } from '../config/train-config';
import { finetune, type FinetuneOptions } from '../eval';
import { timeRunSteps } from '../train/estimate';
import type { BatchSource } from '../train/trainer';
import type { PaperEstimate } from './results';

export interface EstimatePlan {
  seeds: number;
  sslMethods: number;
  methods: number;
  fractions: number;
  pretrainSteps: number;
  finetuneSteps: number;
  /** Validations per fine-tuning cell. */
  validations: number;
  counts: { train: number; val: number; test: number };
}

const kTimedPretrainSteps = 4;
const kTimedFinetuneSteps = 6;

/**
 * Seconds per step from fine-tuning's progress timestamps: the span after the first report (the
 * warm-up) divided by its steps; with fewer than two reports, the whole call's seconds over its steps.
 */
function perStep(marks: Array<{ step: number; at: number }>, wholeSeconds: number, steps: number): number {
  const first = marks[0];
  const last = marks.at(-1);
  return first && last && last.step > first.step ? (last.at - first.at) / 1000 / (last.step - first.step) : wholeSeconds / steps;
}

export async function estimatePaper(
  plan: EstimatePlan,
  measure: {
    scratch: string;
    /** Pre-training of the costliest SSL method; absent when every checkpoint is given. */
    pretrain?: { config: TrainConfig; source: BatchSource };
    finetune: Omit<FinetuneOptions, 'outDir' | 'maxSteps' | 'evalEvery' | 'reportEvery' | 'resume' | 'onProgress'>;
    signal?: AbortSignal;
  },
): Promise<PaperEstimate> {
  await fs.rm(measure.scratch, { recursive: true, force: true });
  try {
    let pretrainSecondsPerStep: number | null = null;
    if (measure.pretrain) {
      // Real steps in a trainer of their own, nothing saved (the timing `train --print-config` uses).
      const timing = await timeRunSteps(measure.pretrain.config, measure.pretrain.source, { totalSteps: plan.pretrainSteps, warmupSteps: 1, timedSteps: kTimedPretrainSteps });
      pretrainSecondsPerStep = timing.secondsPerStep;
    }
    // One fine-tuning run reporting every step: the steps after the first give the cost of a
    // step, the rest of the run (loading, one validation, the test predictions) the fixed cost.
    const marks: Array<{ step: number; at: number }> = [];
    const started = Date.now();
    await finetune({
      ...measure.finetune, outDir: path.join(measure.scratch, 'finetune'), maxSteps: 1 + kTimedFinetuneSteps, evalEvery: 1000, reportEvery: 1, signal: measure.signal,
      onProgress: (p) => {
        if (p.stage === 'train') marks.push({ step: p.step, at: Date.now() });
      },
    });
    const total = (Date.now() - started) / 1000;
    const finetuneSecondsPerStep = perStep(marks, total, 1 + kTimedFinetuneSteps);
    const finetuneFixedSeconds = Math.max(0.1, total - (1 + kTimedFinetuneSteps) * finetuneSecondsPerStep);
    const { counts } = plan;
    const evalSecondsPerImage = finetuneFixedSeconds / (counts.val + counts.test);
    const validation = counts.val * evalSecondsPerImage;
    const pretrainCell = plan.pretrainSteps * (pretrainSecondsPerStep ?? 0);
    const finetuneCell = plan.finetuneSteps * finetuneSecondsPerStep + finetuneFixedSeconds + Math.max(0, plan.validations - 1) * validation;
    // Probes and CKA run the frozen encoder over the splits (forward only).
    const analysisPerSsl = (counts.train + counts.val + 2 * counts.test) * evalSecondsPerImage;
    const seconds = plan.seeds * (plan.sslMethods * (pretrainCell + analysisPerSsl) + plan.methods * plan.fractions * finetuneCell);
    const basis =
      `${plan.seeds} seed(s) × (${plan.sslMethods} pre-training runs of ${plan.pretrainSteps} steps at ${pretrainSecondsPerStep?.toFixed(2) ?? '—'} s/step` +
      ` + ${plan.methods * plan.fractions} fine-tuning cells of ${plan.finetuneSteps} steps at ${finetuneSecondsPerStep.toFixed(2)} s/step` +
      ` + ${finetuneFixedSeconds.toFixed(0)} s load/validate/predict + ${Math.max(0, plan.validations - 1)} more validation(s)` +
      ` + probes and CKA at ${(1 / evalSecondsPerImage).toFixed(0)} images/s), timed on this machine just now`;
    return { seconds, pretrainSecondsPerStep, finetuneSecondsPerStep, finetuneFixedSeconds, basis };
  } finally {
    await fs.rm(measure.scratch, { recursive: true, force: true });
  }
}
