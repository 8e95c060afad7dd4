/**
 * `paper --budget small|medium|full`: how much of the protocol to run — subset sizes, label
 * fractions, the pre-training network and steps, the fine-tuning steps and the analyses' sizes.
 * `full` is the paper's setting (the store as it is, the kaku2021 preset's ResNet-50 and steps,
 * fine-tuning for the paper's 100 epochs); `small` is sized so that three seeds of the whole
 * protocol on the Fashion-MNIST demo store finish within an hour on a 2-core CPU
 * (docs/results/fashion-mnist-small.md records such a run); `medium` sits between them, for a
 * workstation or one GPU. Flags given beside --budget override its values.
 */
import type { TrainConfigOverrides } from '../config/train-config';
import type { SubsetSizes } from './subset-store';

export interface PaperBudget {
  description: string;
  /** A seeded stratified subset of the store, or null for the whole store. */
  subset: SubsetSizes | null;
  /** Label fractions (recorded in the subset store), or null for the store's own. */
  fractions: number[] | null;
  pretrainOverrides: TrainConfigOverrides;
  /** 'store': train at the store's image size (28 px for Fashion-MNIST); null: the preset's. */
  imageSize: 'store' | null;
  /** Pre-training steps per method, or null for the preset's. */
  pretrainSteps: number | null;
  /** Fine-tuning steps per cell, or null for the paper's 100 epochs. */
  finetuneSteps: number | null;
  evalEvery: number | null;
  finetuneBatchSize: number | null;
  cka: { sets: number; setSize: number };
  resamples: number;
}

export const kPaperBudgets = {
  small: {
    description: 'a seeded subset (2,000 / 500 / 1,000 images), ResNet-18 with the small stem at the store\'s size, 200 pre-training steps of 32 (queue 4,096), 100 fine-tuning steps of 16',
    subset: { train: 2000, val: 500, test: 1000 },
    fractions: [0.01, 0.1, 1],
    pretrainOverrides: { arch: 'resnet18', stem: 'small', batchSize: 32, queueSize: 4096 },
    imageSize: 'store',
    pretrainSteps: 200,
    finetuneSteps: 100,
    evalEvery: 50,
    finetuneBatchSize: 16,
    cka: { sets: 10, setSize: 500 },
    resamples: 1000,
  },
  medium: {
    description: 'a seeded subset (10,000 / 2,000 / 5,000 images), ResNet-18 with the small stem, 2,000 pre-training steps of 64 (queue 16,384), 500 fine-tuning steps of 32',
    subset: { train: 10000, val: 2000, test: 5000 },
    fractions: [0.01, 0.1, 1],
    pretrainOverrides: { arch: 'resnet18', stem: 'small', batchSize: 64, queueSize: 16384 },
    imageSize: 'store',
    pretrainSteps: 2000,
    finetuneSteps: 500,
    evalEvery: 100,
    finetuneBatchSize: 32,
    cka: { sets: 50, setSize: 1000 },
    resamples: 1000,
  },
  full: {
    description: "the paper's setting: the whole store and its label fractions, the kaku2021 preset (ResNet-50, its steps and queue), fine-tuning for 100 epochs",
    subset: null,
    fractions: null,
    pretrainOverrides: {},
    imageSize: null,
    pretrainSteps: null,
    finetuneSteps: null,
    evalEvery: null,
    finetuneBatchSize: null,
    cka: { sets: 50, setSize: 1000 },
    resamples: 1000,
  },
} as const satisfies Record<string, PaperBudget>;

export type PaperBudgetName = keyof typeof kPaperBudgets;
export const kPaperBudgetNames = Object.keys(kPaperBudgets) as PaperBudgetName[];
