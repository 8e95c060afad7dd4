/**
 * The scalars a run logs at each report (metrics.csv columns and TensorBoard tags), named
 * `group/name` so TensorBoard groups them: what the pre-training and fine-tuning loops report,
 * flattened from their progress records.
 */
import type { Progress } from '../train/trainer';

/** Pre-training: the interval means of every loss term, then the report step's own metrics. */
export const kPretrainColumns = [
  'loss/total', 'loss/info_nce', 'loss/block1', 'loss/block2', 'loss/block3', 'loss/block4',
  'accuracy/top1', 'accuracy/top5', 'optim/lr', 'optim/key_momentum', 'speed/images_per_second', 'monitor/knn_top1',
] as const;

export function pretrainScalars(p: Progress & { monitor?: { top1: number } | null }): Record<string, number> {
  const out: Record<string, number> = {
    'loss/total': p.mean.loss,
    'loss/info_nce': p.mean.infoNce,
    'accuracy/top1': p.top1,
    'accuracy/top5': p.top5,
    'optim/lr': p.lr,
    'optim/key_momentum': p.keyMomentum,
    'speed/images_per_second': p.imagesPerSecond,
  };
  p.mean.blocks.forEach((v, k) => (out[`loss/block${k + 1}`] = v));
  if (p.monitor) out['monitor/knn_top1'] = p.monitor.top1;
  return out;
}

/** Fine-tuning: the training loss at train reports, the validation metric at validations. */
export const kFinetuneColumns = ['loss/train', 'validation/metric', 'validation/best'] as const;

export function finetuneScalars(p: { stage: 'train'; loss: number } | { stage: 'validate'; valMetric: number; best: number | null }): Record<string, number> {
  if (p.stage === 'train') return { 'loss/train': p.loss };
  return { 'validation/metric': p.valMetric, ...(p.best !== null ? { 'validation/best': p.best } : {}) };
}
