/**
 * The paper's headline numbers (Kaku, Upadhya, Razavian, NeurIPS 2021; docs/method.md, "The paper's headline numbers"), printed
 * beside a user's results in `imlm-native paper` reports, always marked as the paper's.
 */
export type PaperDataset = 'nih' | 'dr' | 'bch';
export type PaperMethod = 'moco' | 'mse' | 'barlow' | 'supervised';

export const kPaperDatasets: Record<PaperDataset, { name: string; metric: 'AUC' | 'F1'; sourceFormat: string }> = {
  nih: { name: 'NIH Chest X-ray', metric: 'AUC', sourceFormat: 'nih-cxr14' },
  dr: { name: 'Diabetic Retinopathy', metric: 'AUC', sourceFormat: 'eyepacs-dr' },
  bch: { name: 'Breast Cancer Histopathology', metric: 'F1', sourceFormat: 'bch-idc' },
};

export const kMethodNames: Record<PaperMethod, string> = {
  moco: 'MoCo',
  mse: 'MoCo + MSE',
  barlow: 'MoCo + BT',
  supervised: 'Supervised',
};

/** Linear probing, percent, with the paper's 95% interval. */
export const kPaperLinear: Record<PaperDataset, Record<PaperMethod, [number, number, number]>> = {
  nih: { moco: [74.4, 73.9, 75.0], mse: [74.8, 74.2, 75.4], barlow: [73.5, 72.9, 74.0], supervised: [79.8, 79.2, 80.3] },
  dr: { moco: [74.6, 74.5, 74.7], mse: [84.8, 84.6, 85.0], barlow: [79.7, 79.6, 79.7], supervised: [94.1, 94.1, 94.2] },
  bch: { moco: [80.7, 80.4, 81.1], mse: [82.5, 82.2, 82.9], barlow: [82.3, 82.0, 82.7], supervised: [82.7, 82.4, 83.1] },
};

/** Full fine-tuning by label fraction (keys 1, 0.06, 0.01), percent. */
export const kPaperFinetune: Record<PaperDataset, Record<string, Record<PaperMethod, number>>> = {
  nih: {
    '1': { supervised: 79.8, moco: 82.4, mse: 81.5, barlow: 80.0 },
    '0.06': { supervised: 65.2, moco: 69.8, mse: 70.5, barlow: 70.0 },
    '0.01': { supervised: 57.8, moco: 59.2, mse: 61.4, barlow: 62.9 },
  },
  dr: {
    '1': { supervised: 94.1, moco: 94.6, mse: 96.6, barlow: 95.7 },
    '0.06': { supervised: 69.1, moco: 92.4, mse: 95.1, barlow: 94.0 },
    '0.01': { supervised: 65.5, moco: 88.1, mse: 93.6, barlow: 92.5 },
  },
  bch: {
    '1': { supervised: 82.7, moco: 82.9, mse: 85.7, barlow: 86.4 },
    '0.06': { supervised: 82.7, moco: 82.8, mse: 84.6, barlow: 84.5 },
    '0.01': { supervised: 80.6, moco: 82.8, mse: 85.1, barlow: 84.4 },
  },
};

type SslMethod = Exclude<PaperMethod, 'supervised'>;

/** RBF CKA before vs after fine-tuning on 1% labels, blocks 1–4, and that model's performance. */
export const kPaperCka: Record<PaperDataset, Record<SslMethod, { blocks: [number, number, number, number]; performance: number }>> = {
  nih: { moco: { blocks: [0.81, 0.8, 0.57, 0.41], performance: 59.2 }, mse: { blocks: [0.97, 0.83, 0.65, 0.42], performance: 61.4 }, barlow: { blocks: [0.99, 0.98, 0.76, 0.38], performance: 62.9 } },
  dr: { moco: { blocks: [0.87, 0.8, 0.51, 0.19], performance: 88.1 }, mse: { blocks: [0.96, 0.78, 0.33, 0.26], performance: 93.6 }, barlow: { blocks: [0.98, 0.83, 0.58, 0.24], performance: 92.5 } },
  bch: { moco: { blocks: [0.5, 0.55, 0.98, 0.16], performance: 82.8 }, mse: { blocks: [0.77, 0.82, 0.58, 0.42], performance: 85.1 }, barlow: { blocks: [0.77, 0.74, 0.54, 0.36], performance: 84.4 } },
};

/** Layer-wise probing, blocks 1–4 (NIH and DR: AUC; BCH: F1), percent. */
export const kPaperProbe: Record<PaperDataset, Record<SslMethod, [number, number, number, number]>> = {
  nih: { moco: [58.8, 59.5, 65.3, 74.4], mse: [57.6, 59.9, 69.2, 74.8], barlow: [56.6, 56.5, 64.2, 73.5] },
  dr: { moco: [68.1, 68.2, 69.2, 74.6], mse: [68.3, 70.1, 71.2, 84.8], barlow: [67.2, 68.6, 69.9, 79.7] },
  bch: { moco: [80.9, 81.1, 81.1, 80.7], mse: [80.6, 81.3, 82.7, 82.5], barlow: [81.0, 81.1, 82.2, 82.3] },
};

/** KS distance to the model fine-tuned on 100% labels (lower is better), at 6% and 1%. */
export const kPaperKs: Record<PaperDataset, Record<PaperMethod, { '0.06': number; '0.01': number }>> = {
  nih: { supervised: { '0.06': 0.04, '0.01': 0.26 }, moco: { '0.06': 0.028, '0.01': 0.244 }, mse: { '0.06': 0.039, '0.01': 0.094 }, barlow: { '0.06': 0.034, '0.01': 0.104 } },
  dr: { supervised: { '0.06': 0.37, '0.01': 0.6 }, moco: { '0.06': 0.21, '0.01': 0.31 }, mse: { '0.06': 0.12, '0.01': 0.18 }, barlow: { '0.06': 0.3, '0.01': 0.22 } },
  bch: { supervised: { '0.06': 0.04, '0.01': 0.155 }, moco: { '0.06': 0.082, '0.01': 0.043 }, mse: { '0.06': 0.036, '0.01': 0.082 }, barlow: { '0.06': 0.026, '0.01': 0.033 } },
};

/** The paper's data set a store corresponds to (by its source format), if any. */
export function paperDatasetOf(sourceFormat: string): PaperDataset | undefined {
  return (Object.keys(kPaperDatasets) as PaperDataset[]).find((d) => kPaperDatasets[d].sourceFormat === sourceFormat);
}
