/**
 * The rows of the training split that a label fraction holds: the manifest's seeded, stratified,
 * nested sample ids (docs/method.md, Q5/Q6) mapped to rows of the split.
 */
import { ImlmError } from '../errors';
import type { Manifest } from '../data/store';
import { tensor, type Tensor } from '../tensor';

/**
 * The rows of the training split that a label fraction holds: every row for 1, else the rows of
 * the manifest's recorded ids. Returns null for "all rows".
 */
export function fractionRows(manifest: Manifest, trainIds: Tensor, fraction: number): { rows: Tensor | null; count: number } {
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
  const rowOf = new Map<number, number>();
  (trainIds.toTypedArray() as BigInt64Array).forEach((id, row) => rowOf.set(Number(id), row));
  const rows = entry.ids.map((id) => {
    const row = rowOf.get(id);
    if (row === undefined) throw new ImlmError(`the store's label fraction ${fraction} names sample id ${id}, which its train split lacks (prepare it again)`, 'ERR_FORMAT');
    return row;
  });
  return { rows: tensor(BigInt64Array.from(rows, BigInt), [rows.length]), count: rows.length };
}
