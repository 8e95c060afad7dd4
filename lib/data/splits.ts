/**
 * Seeded, reproducible data-set divisions: patient-level train/val/test splits (no patient in
 * two splits) and label fractions that are stratified by label and nested (1% ⊂ 6% ⊂ 100%).
 * Pure functions of their inputs and seed; prepare records their results in the manifest.
 */
import { ImlmError } from '../errors';

/** A seeded permutation of 0..n-1 (xorshift32 Fisher–Yates): portable and stable across versions. */
export function seededPermutation(n: number, seed: number): Uint32Array {
  const order = Uint32Array.from({ length: n }, (_, i) => i);
  let x = (seed ^ 0x9e3779b9) >>> 0 || 1;
  for (let i = n - 1; i > 0; i--) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    const j = x % (i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

export type Split = 'train' | 'val' | 'test';

/**
 * Assigns every sample to a split by its patient: the distinct patients are shuffled with
 * `seed` and cut at the given shares (default 70/20/10), so all images of one patient land in
 * the same split. Returns the split of each sample, in input order.
 */
export function patientSplits(
  patients: readonly string[],
  seed: number,
  shares: { train: number; val: number; test: number } = { train: 0.7, val: 0.2, test: 0.1 },
): Split[] {
  const total = shares.train + shares.val + shares.test;
  if (!(Math.abs(total - 1) < 1e-9) || shares.train <= 0 || shares.val < 0 || shares.test < 0) {
    throw new ImlmError(`Expected split shares that are non-negative and sum to 1 but received ${JSON.stringify(shares)}`, 'ERR_INVALID_ARG');
  }
  const distinct = [...new Set(patients)].sort();
  const order = seededPermutation(distinct.length, seed);
  const trainEnd = Math.round(distinct.length * shares.train);
  const valEnd = trainEnd + Math.round(distinct.length * shares.val);
  const splitOf = new Map<string, Split>();
  order.forEach((patientIndex, rank) => {
    splitOf.set(distinct[patientIndex], rank < trainEnd ? 'train' : rank < valEnd ? 'val' : 'test');
  });
  return patients.map((p) => splitOf.get(p)!);
}

/**
 * Label fractions of a training split: for each fraction f, the indices (into `labels`) of a
 * subset of ≈ f·N samples with every label group in its original proportion (at least one
 * sample per group when f > 0). Groups are the label itself (multiclass/binary) or the set of
 * positive labels (multilabel). Each group is permuted once with `seed` and every fraction takes
 * a prefix of that permutation, so smaller fractions are subsets of larger ones.
 * Returns a map fraction → sorted indices.
 */
export function labelFractions(labels: ReadonlyArray<number | readonly number[]>, fractions: readonly number[], seed: number): Map<number, number[]> {
  for (const f of fractions) {
    if (!(f > 0 && f <= 1)) throw new ImlmError(`Expected label fractions in (0, 1] but received ${f}`, 'ERR_INVALID_ARG');
  }
  const groups = new Map<string, number[]>();
  labels.forEach((label, i) => {
    const key = Array.isArray(label) ? label.map((v, j) => (v ? j : -1)).filter((j) => j >= 0).join('+') || 'none' : String(label);
    let members = groups.get(key);
    if (!members) groups.set(key, (members = []));
    members.push(i);
  });
  // One permutation per group, drawn in a fixed group order so the result depends on the seed only.
  const keys = [...groups.keys()].sort();
  const permuted = keys.map((key, g) => {
    const members = groups.get(key)!;
    const order = seededPermutation(members.length, (seed + 0x51ed2701 * (g + 1)) >>> 0);
    return Array.from(order, (o) => members[o]);
  });
  const out = new Map<number, number[]>();
  for (const f of fractions) {
    const chosen: number[] = [];
    for (const members of permuted) {
      const take = f >= 1 ? members.length : Math.max(1, Math.round(members.length * f));
      chosen.push(...members.slice(0, take));
    }
    out.set(f, chosen.sort((a, b) => a - b));
  }
  return out;
}

/** The label fractions recorded when nothing else is asked: the paper's 1%, 6% and 100%. */
export const kDefaultLabelFractions: readonly number[] = [0.01, 0.06, 1];

/** Label fractions as a store's manifest records them (docs/formats.md). */
export interface RecordedLabelFractions {
  seed: number;
  stratifiedBy: string;
  nested: boolean;
  /** Per fraction: the count and, below 1, the ids of the training samples it holds. */
  fractions: Record<string, { count: number; ids?: number[] }>;
}

/**
 * labelFractions() of a training split, recorded by sample id: `labels[i]` and `ids[i]` describe
 * row i (a class, or the 0/1 vector of a multilabel row).
 */
export function recordLabelFractions(
  labels: ReadonlyArray<number | readonly number[]>,
  ids: ArrayLike<number>,
  fractions: readonly number[],
  seed: number,
): RecordedLabelFractions {
  const chosen = labelFractions(labels, fractions, seed);
  return {
    seed,
    stratifiedBy: labels.some((l) => Array.isArray(l)) ? 'label combination' : 'label',
    nested: true,
    fractions: Object.fromEntries(
      fractions.map((f) => {
        const rows = chosen.get(f)!;
        return [String(f), f >= 1 ? { count: rows.length } : { count: rows.length, ids: rows.map((r) => ids[r]) }];
      }),
    ),
  };
}
