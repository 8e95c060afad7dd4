/**
 * How long a pre-training run will take, before it starts: measured (`timeRunSteps`: a few real
 * steps on the run's own data and network, for `train --print-config`) or guessed without
 * running anything (`cpuHoursWarning`: a multiply-add count, for the warning `train` prints
 * before a run that looks like hours on a CPU).
 */
import type { Arch, TrainConfig } from '../config/train-config';
import { Trainer, type BatchSource } from './trainer';

export interface StepTiming {
  /** Steps run first and not timed (threads, allocator and oneDNN/cuDNN caches warming up). */
  warmupSteps: number;
  /** Steps timed after the warm-up. */
  timedSteps: number;
  secondsPerStep: number;
  imagesPerSecond: number;
  /** The step count the estimate is for. */
  totalSteps: number;
  /** secondsPerStep × totalSteps: training steps only (no start-up, checkpoints or kNN monitor). */
  estimatedSeconds: number;
  device: string;
}

/**
 * Runs `warmupSteps` then `timedSteps` real steps of `config` on `source` in a trainer of its own
 * (nothing is saved), and extrapolates the timed ones to `totalSteps`.
 */
export async function timeRunSteps(config: TrainConfig, source: BatchSource, o: { totalSteps: number; warmupSteps?: number; timedSteps?: number }): Promise<StepTiming> {
  const warmupSteps = o.warmupSteps ?? 1;
  const timedSteps = o.timedSteps ?? 3;
  const trainer = await Trainer.create(config);
  if (warmupSteps > 0) await trainer.run(source, { steps: warmupSteps, reportEvery: warmupSteps });
  const summary = await trainer.run(source, { steps: timedSteps, reportEvery: timedSteps });
  const secondsPerStep = summary.stepsRun > 0 ? summary.seconds / summary.stepsRun : 0;
  return {
    warmupSteps,
    timedSteps: summary.stepsRun,
    secondsPerStep,
    imagesPerSecond: summary.imagesPerSecond,
    totalSteps: o.totalSteps,
    estimatedSeconds: secondsPerStep * o.totalSteps,
    device: trainer.device,
  };
}

/** "3 h 25 min", "12 min 5 s", "40 s". */
export function formatDuration(seconds: number): string {
  const s = Math.round(seconds);
  if (s >= 86400) return `${Math.floor(s / 86400)} d ${Math.round((s % 86400) / 3600)} h`;
  if (s >= 3600) return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
  if (s >= 60) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${s} s`;
}

/**
 * Giga multiply-adds of one forward pass of each architecture on a 224×224 RGB image with the
 * standard stem: the figures commonly quoted for these ResNets (rounded; the head is negligible).
 */
const kForwardGmacs224: Record<Arch, number> = { resnet18: 1.81, resnet34: 3.66, resnet50: 4.09, resnet101: 7.8, resnet152: 11.51 };

/**
 * The multiply-adds a CPU is assumed to do per second for the warning: a generous figure for a
 * many-core server (oneDNN, fp32), so that the warning fires only for runs that take hours even
 * there. (A 2-core machine trained ResNet-50 at 28² at about 4 G/s: `train` measures img/s.)
 */
export const kAssumedCpuGmacsPerSecond = 50;

/**
 * Multiply-adds of one training step: each image passes forward and backward through the query
 * encoder (≈ 3 forwards) and forward through the key encoder (1), so ≈ 4 forwards; the small stem
 * keeps 16× the spatial positions of the standard one (no stride-2 convolution, no max-pool).
 */
export function stepGmacs(config: Pick<TrainConfig, 'arch' | 'stem' | 'imageSize' | 'batchSize'>): number {
  const side = config.imageSize * (config.stem === 'small' ? 4 : 1);
  return kForwardGmacs224[config.arch] * (side / 224) ** 2 * 4 * config.batchSize;
}

/**
 * One line for a run on the CPU whose step count makes it look like more than an hour by the
 * multiply-add count at kAssumedCpuGmacsPerSecond (a heuristic, nothing is run); null otherwise.
 * It names what it is based on and how to shorten the run.
 */
export function cpuHoursWarning(config: TrainConfig, steps: number, onCpu: boolean): string | null {
  if (!onCpu) return null;
  const perStep = stepGmacs(config);
  const seconds = (perStep * steps) / kAssumedCpuGmacsPerSecond;
  if (seconds < 3600) return null;
  return (
    `warning: this run looks like ${formatDuration(seconds)} or more on the CPU — an estimate from its size, not a measurement: ` +
    `${steps} steps × ${config.batchSize} images of ${config.arch} (${config.stem} stem) at ${config.imageSize}² ≈ ${perStep.toFixed(1)} G multiply-adds a step, ` +
    `at an assumed ${kAssumedCpuGmacsPerSecond} G/s (a fast many-core CPU; yours may be slower). ` +
    'Shorten it with --steps, another --preset, a smaller --arch (resnet18), --stem small with a smaller --image-size, or train on a GPU (--device cuda); ' +
    '--print-config times a few real steps first'
  );
}
