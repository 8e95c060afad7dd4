/**
 * The rows of the training split that a label fraction holds: the manifest's seeded, stratified,
 * nested sample ids (docs/method.md, Q5/Q6) mapped to rows of the split — or, with a draw seed
 * other than the recorded one, the same kind of draw made anew (`paper --seeds` repeats the
 * label-fraction draw per seed).
 */
import { ImlmError } from '../errors';
import type { Manifest } from '../data/store';
import { labelFractions } from '../data/splits';
import { tensor, type Tensor } from '../tensor';

/** Label groups of each training row: the class (multiclass/binary) or the 0/1 vector (multilabel). */
function labelGroups(labels: Tensor): Array<number | number[]> {
  const values = labels.toTypedArray() as BigInt64Array | Uint8Array;
  const n = labels.shape[0];
  if (labels.shape.length === 2) {
    const width = labels.shape[1];
    return Array.from({ length: n }, (_, i) => Array.from(values.subarray(i * width, (i + 1) * width), Number));
  }
  return Array.from(values as ArrayLike<number | bigint>, Number);
}

/**
 * The rows of the training split that a label fraction holds: every row for 1, else the rows of
 * the manifest's recorded ids; with `draw` (a seed and the split's labels) whose seed differs
 * from the recorded one, a new stratified, nested draw with that seed (the draw `prepare`
 * records, so the recorded seed gives the recorded rows). Returns null rows for "all rows".
 */
export function fractionRows(
  manifest: Manifest,
  trainIds: Tensor,
  fraction: number,
  draw?: { seed: number; labels: Tensor },
): { rows: Tensor | null; count: number } {
  const total = manifest.splits.train?.count ?? 0;
  if (fraction === 1) return { rows: null, count: total };
  const recorded = manifest.labelFractions?.fractions ?? {};
  const entry = recorded[String(fraction)];
  if (!entry?.ids) {
    const known = Object.keys(recorded).map(Number).sort((a, b) => a - b).join(', ') || 'none';
    throw new ImlmError(
      `Expected a label fraction the store records (${known}) but received ${fraction}; prepare the store with that fraction`,
      'ERR_INVALID_ARG',
    );
  }
  if (draw && draw.seed !== manifest.labelFractions?.seed) {
    const rows = labelFractions(labelGroups(draw.labels), [fraction], draw.seed).get(fraction)!;
    return { rows: tensor(BigInt64Array.from(rows, BigInt), [rows.length]), count: rows.length };
  }
  const rowOf = new Map<number, number>();
  (trainIds.toTypedArray() as BigInt64Array).forEach((id, row) => rowOf.set(Number(id), row));
  const rows = entry.ids.map((id) => {
    const row = rowOf.get(id);
    if (row === undefined) throw new ImlmError(`the store's label fraction ${fraction} names sample id ${id}, which its train split lacks (prepare it again)`, 'ERR_FORMAT');
    return row;
  });
  return { rows: tensor(BigInt64Array.from(rows, BigInt), [rows.length]), count: rows.length };
}
