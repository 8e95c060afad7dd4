/**
 * The report's plots (the paired differences with their intervals, per-block CKA bars, layer-wise
 * probe curves, ROC curves, pre-training loss curves): Vega-Lite specifications, rendered by
 * lib/render-plot.ts. With several seeds, CKA and probe values are means over the seeds, the ROC
 * curves are the first seed's and every seed's loss curve is drawn.
 */
import { promises as fs } from 'fs';
import path from 'path';
import { renderPlot } from '../render-plot';
import { kMethodNames, type PaperMethod } from './paper-numbers';
import { spread, type PaperResults } from './results';

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

const fractionText = (f: number) => `${+(f * 100).toFixed(2)}%`;

export function pairedSpec(r: PaperResults): object | null {
  const values: Row[] = r.paired
    .filter((p) => p.headline.ci)
    .map((p) => ({
      comparison: `${methodName(p.a)} − ${methodName(p.b)}, ${p.evaluation === 'linear' ? 'linear' : 'fine-tune'}, ${fractionText(p.fraction)}`,
      difference: 100 * p.headline.difference,
      lo: 100 * p.headline.ci![0],
      hi: 100 * p.headline.ci![1],
    }));
  if (!values.length) return null;
  return {
    ...base(`Paired differences A − B (${r.metric.label}, points, 95% interval)`, values),
    height: { step: 18 },
    layer: [
      { mark: 'rule', encoding: { y: { field: 'comparison', type: 'nominal', sort: null, title: null, axis: { labelLimit: 480 } }, x: { field: 'lo', type: 'quantitative', title: 'points' }, x2: { field: 'hi' } } },
      { mark: { type: 'point', filled: true }, encoding: { y: { field: 'comparison', type: 'nominal', sort: null }, x: { field: 'difference', type: 'quantitative' } } },
      { data: { values: [{ zero: 0 }] }, mark: { type: 'rule', strokeDash: [4, 4] }, encoding: { x: { field: 'zero', type: 'quantitative' } } },
    ],
  };
}

export function ckaSpec(r: PaperResults): object | null {
  const values: Row[] = [];
  for (const m of r.methods) {
    for (let i = 0; i < 4; ++i) {
      const mean = spread(r.runs.map((x) => x.cka[m]?.blocks[i]?.mean).filter((v): v is number => v !== undefined))?.mean;
      const std = spread(r.runs.map((x) => x.cka[m]?.blocks[i]?.std).filter((v): v is number => v !== undefined))?.mean ?? 0;
      if (mean !== undefined) values.push({ method: methodName(m), block: `B${i + 1}`, mean, lo: mean - std, hi: mean + std });
    }
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
  for (const m of r.methods) {
    for (let i = 0; i < 4; ++i) {
      const mean = spread(r.runs.map((x) => x.probe[m]?.[i]?.value).filter((v): v is number => v !== undefined))?.mean;
      if (mean !== undefined) values.push({ method: methodName(m), block: i + 1, value: 100 * mean });
    }
  }
  if (!values.length) return null;
  return {
    ...base(`Layer-wise linear probing (${r.metric.label})`, values),
    mark: { type: 'line', point: true },
    encoding: { x: { field: 'block', type: 'ordinal', title: 'block' }, y: { field: 'value', type: 'quantitative', title: r.metric.label, scale: { zero: false } }, color: { field: 'method', title: null } },
  };
}

export function rocSpec(r: PaperResults): object | null {
  const values: Row[] = [];
  for (const [m, byFraction] of Object.entries(r.runs[0]?.roc ?? {})) {
    for (const [f, curve] of Object.entries(byFraction ?? {})) {
      curve.fpr.forEach((x, i) => values.push({ model: `${methodName(m)}, ${+(Number(f) * 100).toFixed(2)}%`, fpr: x, tpr: curve.tpr[i], order: i }));
    }
  }
  if (!values.length) return null;
  return {
    ...base(`ROC curves on the test split (fine-tuned models${r.runs.length > 1 ? `, seed ${r.runs[0].seed}` : ''})`, values),
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
  for (const run of r.runs) {
    for (const [m, p] of Object.entries(run.pretrain)) p?.loss.forEach((l) => values.push({ method: methodName(m), run: `${methodName(m)}, seed ${run.seed}`, step: l.step, loss: l.loss }));
  }
  if (!values.length) return null;
  return {
    ...base('Pre-training loss', values),
    mark: 'line',
    encoding: { x: { field: 'step', type: 'quantitative' }, y: { field: 'loss', type: 'quantitative', scale: { zero: false } }, color: { field: 'method', title: null }, detail: { field: 'run' } },
  };
}

/** Every plot the results allow, into `dir`; returns kind → PNG file name (relative to dir). */
export async function renderPlots(r: PaperResults, dir: string): Promise<Record<string, string>> {
  await fs.mkdir(dir, { recursive: true });
  const out: Record<string, string> = {};
  const specs: Array<[string, object | null]> = [['paired', pairedSpec(r)], ['cka', ckaSpec(r)], ['probe', probeSpec(r)], ['roc', rocSpec(r)], ['loss', lossSpec(r)]];
  for (const [kind, spec] of specs) {
    if (!spec) continue;
    const [, png] = await renderPlot(spec, path.join(dir, kind));
    out[kind] = path.relative(path.dirname(dir), png);
  }
  return out;
}
