/**
 * The paper's claims as paired comparisons (docs/evaluation.md, "Paired comparisons"): the
 * intermediate-layer losses against plain MoCo (linear probe and fine-tuning, at every label
 * fraction), and every pre-trained method against training from scratch (fine-tuning). Each is
 * the difference A − B of the headline metric on the same test rows, pooled over the seeds, with a
 * paired percentile bootstrap interval; a claim is "shown" when the interval excludes 0.
 */
import { kMethodNames, type PaperMethod } from './paper-numbers';
import type { PairedComparisonResult, PairedValue } from './results';

export interface ComparisonSpec {
  evaluation: 'linear' | 'finetune';
  a: PaperMethod;
  b: PaperMethod;
}

/** The comparisons that `methods` allow, in the order the report states them. */
export function comparisonsFor(methods: readonly PaperMethod[]): ComparisonSpec[] {
  const has = (m: PaperMethod) => methods.includes(m);
  const out: ComparisonSpec[] = [];
  for (const evaluation of ['linear', 'finetune'] as const) {
    for (const a of ['mse', 'barlow'] as const) if (has(a) && has('moco')) out.push({ evaluation, a, b: 'moco' });
  }
  for (const a of ['mse', 'barlow', 'moco'] as const) if (has(a) && has('supervised')) out.push({ evaluation: 'finetune', a, b: 'supervised' });
  return out;
}

const fractionLabel = (f: number) => `${+(f * 100).toFixed(2)}%`;
const points = (v: number) => `${v >= 0 ? '+' : '−'}${Math.abs(100 * v).toFixed(1)}`;

/** x ×100 to one decimal, without a "-0.0". */
const tenths = (x: number) => {
  const t = (100 * x).toFixed(1);
  return t === '-0.0' ? '0.0' : t;
};

/** "[0.8, 3.4]" in points. */
export function intervalText(v: PairedValue): string {
  return v.ci ? `[${tenths(v.ci[0])}, ${tenths(v.ci[1])}]` : '[no interval]';
}

/** "MoCo + MSE − MoCo at 1%, linear probe: +2.1 points [0.8, 3.4]" and whether the interval shows it. */
export function claimText(c: PairedComparisonResult, metricLabel: string): string {
  const what = c.evaluation === 'linear' ? 'linear probe' : 'fine-tuning';
  const v = c.headline;
  const verdict = v.ci === null ? 'no interval' : v.shown ? (v.difference > 0 ? 'shown' : 'shown, the other way') : 'not shown (the interval covers 0)';
  return `${kMethodNames[c.a]} − ${kMethodNames[c.b]} at ${fractionLabel(c.fraction)}, ${what}: ${points(v.difference)} points of ${metricLabel} ${intervalText(v)} — ${verdict}`;
}
