/**
 * `loss.svg` / `loss.png` of a pre-training run folder: the total loss, InfoNCE and the
 * intermediate-layer term (the sum of the four weighted block terms), each the mean over the
 * steps of a report, against the step — drawn from metrics.jsonl at the end of `train`.
 */
import { existsSync, promises as fs } from 'fs';
import path from 'path';
import { renderPlot } from '../render-plot';

interface Report { step: number; mean?: { loss: number; infoNce: number; blocks: number[] } }

/** Writes the plot and returns its two paths, or null when the run has no reports yet. */
export async function writeLossPlot(runDir: string): Promise<[string, string] | null> {
  const file = path.join(runDir, 'metrics.jsonl');
  if (!existsSync(file)) return null;
  const values: Array<{ step: number; term: string; loss: number }> = [];
  for (const line of (await fs.readFile(file, 'utf8')).split('\n')) {
    let r: Report;
    try {
      r = JSON.parse(line) as Report;
    } catch {
      continue; // blank, or torn by a kill
    }
    if (!r.mean) continue;
    values.push({ step: r.step, term: 'total', loss: r.mean.loss });
    values.push({ step: r.step, term: 'InfoNCE', loss: r.mean.infoNce });
    values.push({ step: r.step, term: 'intermediate (blocks)', loss: r.mean.blocks.reduce((a, b) => a + b, 0) });
  }
  if (values.length === 0) return null;
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: 'Pre-training loss (mean per report)',
    background: 'white',
    width: 480,
    height: 260,
    data: { values },
    mark: { type: 'line', point: values.length <= 90 },
    encoding: {
      x: { field: 'step', type: 'quantitative' },
      y: { field: 'loss', type: 'quantitative', scale: { zero: false } },
      color: { field: 'term', title: null },
    },
  };
  return renderPlot(spec, path.join(runDir, 'loss'));
}
