/**
 * The report's plots (per-block CKA bars, layer-wise probe curves, ROC curves, pre-training loss
 * curves): Vega-Lite specifications, rendered by lib/render-plot.ts.
 */
import { promises as fs } from 'fs';
import path from 'path';
import { renderPlot } from '../render-plot';
import { kMethodNames, type PaperMethod } from './paper-numbers';
import type { PaperResults } from './results';

type Row = Record<string, string | number>;

const base = (title: string, values: Row[]) => ({
  $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
  title,
  background: 'white',
  width: 360,
  height: 220,
  data: { values },
});

const methodName = (m: string) => kMethodNames[m as PaperMethod] ?? m;

export function ckaSpec(r: PaperResults): object | null {
  const values: Row[] = [];
  for (const [m, c] of Object.entries(r.cka)) {
    c?.blocks.forEach((b, i) => values.push({ method: methodName(m), block: `B${i + 1}`, mean: b.mean, lo: b.mean - b.std, hi: b.mean + b.std }));
  }
  if (!values.length) return null;
  return {
    ...base('CKA before vs after fine-tuning, per block', values),
    layer: [
      { mark: 'bar', encoding: { x: { field: 'block', type: 'nominal', title: null }, xOffset: { field: 'method' }, y: { field: 'mean', type: 'quantitative', title: 'CKA', scale: { domain: [0, 1] } }, color: { field: 'method', title: null } } },
      { mark: { type: 'rule' }, encoding: { x: { field: 'block', type: 'nominal' }, xOffset: { field: 'method' }, y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' } } },
    ],
  };
}

export function probeSpec(r: PaperResults): object | null {
  const values: Row[] = [];
  for (const [m, blocks] of Object.entries(r.probe)) blocks?.forEach((b, i) => values.push({ method: methodName(m), block: i + 1, value: 100 * b.value }));
  if (!values.length) return null;
  return {
    ...base(`Layer-wise linear probing (${r.metric.label})`, values),
    mark: { type: 'line', point: true },
    encoding: { x: { field: 'block', type: 'ordinal', title: 'block' }, y: { field: 'value', type: 'quantitative', title: r.metric.label, scale: { zero: false } }, color: { field: 'method', title: null } },
  };
}

export function rocSpec(r: PaperResults): object | null {
  const values: Row[] = [];
  for (const [m, byFraction] of Object.entries(r.roc)) {
    for (const [f, curve] of Object.entries(byFraction ?? {})) {
      curve.fpr.forEach((x, i) => values.push({ model: `${methodName(m)}, ${+(Number(f) * 100).toFixed(2)}%`, fpr: x, tpr: curve.tpr[i], order: i }));
    }
  }
  if (!values.length) return null;
  return {
    ...base('ROC curves on the test split (fine-tuned models)', values),
    width: 300,
    height: 300,
    mark: 'line',
    encoding: {
      x: { field: 'fpr', type: 'quantitative', title: 'false positive rate' },
      y: { field: 'tpr', type: 'quantitative', title: 'true positive rate' },
      color: { field: 'model', title: null },
      order: { field: 'order' },
    },
  };
}

export function lossSpec(r: PaperResults): object | null {
  const values: Row[] = [];
  for (const [m, p] of Object.entries(r.pretrain)) p?.loss.forEach((l) => values.push({ method: methodName(m), step: l.step, loss: l.loss }));
  if (!values.length) return null;
  return {
    ...base('Pre-training loss', values),
    mark: 'line',
    encoding: { x: { field: 'step', type: 'quantitative' }, y: { field: 'loss', type: 'quantitative', scale: { zero: false } }, color: { field: 'method', title: null } },
  };
}

/** Every plot the results allow, into `dir`; returns kind → PNG file name (relative to dir). */
export async function renderPlots(r: PaperResults, dir: string): Promise<Record<string, string>> {
  await fs.mkdir(dir, { recursive: true });
  const out: Record<string, string> = {};
  const specs: Array<[string, object | null]> = [['cka', ckaSpec(r)], ['probe', probeSpec(r)], ['roc', rocSpec(r)], ['loss', lossSpec(r)]];
  for (const [kind, spec] of specs) {
    if (!spec) continue;
    const [, png] = await renderPlot(spec, path.join(dir, kind));
    out[kind] = path.relative(path.dirname(dir), png);
  }
  return out;
}
