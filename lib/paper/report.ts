/**
 * report.md of `imlm-native paper`: the paper's claims as paired differences with their
 * intervals first, then the user's results in tables laid out like the paper's — mean ± standard
 * deviation over the seeds with each seed's value, or the bootstrap interval for one seed — with the
 * paper's numbers beside them (always labelled as the paper's, from docs/method.md), and the
 * budget, the estimate and the wall clock of every stage. Where the store is not one of the
 * paper's data sets, the paper's rows for all three are listed for orientation only.
 */
import { claimText, intervalText } from './claims';
import {
  kMethodNames, kPaperCka, kPaperDatasets, kPaperFinetune, kPaperKs, kPaperLinear, kPaperProbe,
  paperDatasetOf, type PaperDataset, type PaperMethod,
} from './paper-numbers';
import { fractionKey, spread, type MetricWithCi, type PaperResults, type SeedResults } from './results';

const pct = (v: number | undefined, digits = 1) => (v === undefined || !Number.isFinite(v) ? '—' : (100 * v).toFixed(digits));
const withCi = (m: MetricWithCi | undefined) => (m ? `${pct(m.value)}${m.ci ? ` (${pct(m.ci[0])}–${pct(m.ci[1])})` : ''}` : '—');
const fractionLabel = (f: number) => `${+(f * 100).toFixed(2)}%`;

function table(header: string[], rows: string[][]): string {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

/**
 * One cell over the seeds: the bootstrap interval when one seed ran, else mean ± standard
 * deviation over the seeds with each seed's value (×100).
 */
function overSeeds(runs: SeedResults[], pick: (r: SeedResults) => MetricWithCi | undefined): string {
  const cells = runs.map(pick);
  if (runs.length === 1) return withCi(cells[0]);
  const values = cells.filter((c): c is MetricWithCi => c !== undefined).map((c) => c.value);
  const s = spread(values);
  if (!s) return '—';
  return `${pct(s.mean)} ± ${pct(s.std)} (${values.map((v) => pct(v)).join(', ')})${values.length < runs.length ? ` [${values.length} of ${runs.length} seeds]` : ''}`;
}

/** The mean over the seeds of a number, '—' when no seed has it. */
function meanOver(runs: SeedResults[], pick: (r: SeedResults) => number | undefined): number | undefined {
  return spread(runs.map(pick).filter((v): v is number => v !== undefined && Number.isFinite(v)))?.mean;
}

export interface ReportPlots {
  /** File names relative to the report, by kind. */
  [kind: string]: string;
}

/** The stage of a cell name like 'seed-0/finetune/mse/0.01' or 'compare'. */
const stageOf = (cell: string) => cell.replace(/^seed-\d+\//, '').split('/')[0];

const minutes = (s: number) => (s >= 90 ? `${(s / 60).toFixed(1)} min` : `${s.toFixed(0)} s`);

export function renderReport(r: PaperResults, plots: ReportPlots = {}): string {
  const paper = paperDatasetOf(r.sourceFormat);
  const paperSets: PaperDataset[] = paper ? [paper] : ['nih', 'dr', 'bch'];
  const paperNote = paper
    ? `The column "paper" holds the paper's numbers for ${kPaperDatasets[paper].name} (Kaku et al., NeurIPS 2021), not ours.`
    : `This data set is not one of the paper's; the paper's numbers for its three data sets (NIH, DR, BCH) are listed after ours for orientation only.`;
  const ssl = r.methods.filter((m) => m !== 'supervised');
  const runs = r.runs;
  const seedText = runs.length === 1 ? `one seed (${runs[0].seed})` : `${runs.length} seeds (${runs.map((x) => x.seed).join(', ')})`;
  const cellText =
    runs.length === 1
      ? `${r.metric.label} ×100 with its bootstrap 95% percentile interval over the test rows`
      : `${r.metric.label} ×100 as mean ± standard deviation over the seeds, each seed's value in parentheses`;
  const out: string[] = [];
  out.push(`# imlm-native paper report`, '');
  out.push(`Data: \`${r.store}\` (${r.sourceFormat}, ${r.task}, ${r.classes.length} classes). Metric: ${r.metric.label}. Seeds: ${seedText}; a seed sets pre-training's and fine-tuning's initialisation, augmentation and order and the label-fraction draw. Cells: ${cellText}.`);
  out.push('', paperNote, '');
  out.push(`Budget: ${r.budget ?? 'none (settings given by hand)'}. Settings: ` + Object.entries(r.settings).map(([k, v]) => `${k} ${typeof v === 'object' ? JSON.stringify(v) : v}`).join('; ') + '.', '');

  if (r.paired.length) {
    out.push("## The paper's claims, tested", '');
    out.push(
      `Each line is a difference A − B of ${r.metric.label} on the same test rows, in points (×100), the mean over ${runs.length === 1 ? 'the one seed' : `the ${r.pairedSeeds.length} seeds`}, with a paired percentile bootstrap 95% interval (${r.paired[0].resamples} resamples of the test rows, drawn once for all models and seeds). "Shown" means the interval excludes 0. The interval measures the test sample's uncertainty for these pre-trained models; the spread between seeds is in the per-seed column and the tables below.`,
      '',
    );
    out.push(
      table(
        ['claim', `per-seed differences`, ...(r.paired.some((p) => p.accuracy) ? ['accuracy difference [95%]'] : [])],
        r.paired.map((p) => [
          claimText(p, r.metric.label),
          p.headline.perSeed.map((v) => (v >= 0 ? '+' : '−') + Math.abs(100 * v).toFixed(1)).join(', '),
          ...(r.paired.some((x) => x.accuracy) ? [p.accuracy ? `${(p.accuracy.difference >= 0 ? '+' : '−') + Math.abs(100 * p.accuracy.difference).toFixed(1)} ${intervalText(p.accuracy)}` : '—'] : []),
        ]),
      ),
      '',
    );
  }

  const fractions = [...r.fractions].sort((a, b) => b - a);
  out.push('## Linear probing (block 4, frozen encoder) by label fraction', '');
  out.push(table(['fraction', ...ssl.map((m) => kMethodNames[m])], fractions.map((f) => [fractionLabel(f), ...ssl.map((m) => overSeeds(runs, (x) => x.linear[m]?.[fractionKey(f)]))])), '');
  out.push("At 100% of the labels, beside the paper's linear-probing table (its supervised row is the fine-tuned model):", '');
  out.push(
    table(
      ['method', `ours (${r.metric.label})`, ...paperSets.map((d) => `paper, ${d.toUpperCase()} (${kPaperDatasets[d].metric})`)],
      r.methods.map((m) => [
        kMethodNames[m],
        m === 'supervised' ? overSeeds(runs, (x) => x.finetune.supervised?.['1']) : overSeeds(runs, (x) => x.linear[m]?.['1']),
        ...paperSets.map((d) => { const [v, lo, hi] = kPaperLinear[d][m]; return `${v} (${lo}–${hi})`; }),
      ]),
    ),
    '',
  );

  out.push('## Fine-tuning by label fraction', '');
  out.push(
    table(
      ['fraction', ...r.methods.map((m) => kMethodNames[m])],
      fractions.flatMap((f) => {
        const ours = [`${fractionLabel(f)} — ours`, ...r.methods.map((m) => overSeeds(runs, (x) => x.finetune[m]?.[fractionKey(f)]))];
        const theirs = paperSets
          .filter((d) => kPaperFinetune[d][fractionKey(f)])
          .map((d) => [`${fractionLabel(f)} — paper, ${d.toUpperCase()}`, ...r.methods.map((m) => String(kPaperFinetune[d][fractionKey(f)][m]))]);
        return [ours, ...theirs];
      }),
    ),
    '',
  );

  out.push('## Layer-wise probing (blocks 1–4, 100% of the labels)', '');
  out.push(
    table(
      ['method', 'block 1', 'block 2', 'block 3', 'block 4'],
      ssl.flatMap((m) => [
        [`${kMethodNames[m]} — ours`, ...[0, 1, 2, 3].map((b) => overSeeds(runs, (x) => x.probe[m]?.[b]))],
        ...paperSets.map((d) => [`${kMethodNames[m]} — paper, ${d.toUpperCase()}`, ...kPaperProbe[d][m as Exclude<PaperMethod, 'supervised'>].map(String)]),
      ]),
    ),
    '',
  );

  const smallest = Math.min(...r.fractions);
  out.push(`## Feature reuse: CKA before vs after fine-tuning on ${fractionLabel(smallest)} of the labels`, '');
  if (runs.length > 1) out.push('Mean over the seeds of each seed\'s bootstrap mean; ± the mean of their bootstrap standard deviations.', '');
  out.push(
    table(
      ['method', 'B1', 'B2', 'B3', 'B4', 'performance'],
      ssl.flatMap((m) => {
        const kernel = runs.find((x) => x.cka[m])?.cka[m]?.kernel;
        const block = (b: number) => {
          const mean = meanOver(runs, (x) => x.cka[m]?.blocks[b]?.mean);
          const std = meanOver(runs, (x) => x.cka[m]?.blocks[b]?.std);
          return mean === undefined ? '—' : `${mean.toFixed(2)} ± ${(std ?? 0).toFixed(2)}`;
        };
        const ours = [`${kMethodNames[m]} — ours${kernel ? ` (${kernel})` : ''}`, ...[0, 1, 2, 3].map(block), overSeeds(runs, (x) => x.finetune[m]?.[fractionKey(smallest)])];
        const theirs = paperSets.map((d) => {
          const p = kPaperCka[d][m as Exclude<PaperMethod, 'supervised'>];
          return [`${kMethodNames[m]} — paper, ${d.toUpperCase()} (RBF, 1%)`, ...p.blocks.map((v) => v.toFixed(2)), String(p.performance)];
        });
        return [ours, ...theirs];
      }),
    ),
    '',
  );

  const below = fractions.filter((f) => f < 1);
  out.push('## KS distance to the model fine-tuned on 100% of the labels (lower is better)', '');
  if (runs.length > 1) out.push('Mean over the seeds of the statistic; the p-value column is the largest over the seeds.', '');
  out.push(
    table(
      ['method', ...below.map((f) => `${fractionLabel(f)} — ours (statistic, p)`), ...paperSets.map((d) => `paper, ${d.toUpperCase()} (6% / 1%)`)],
      r.methods.map((m) => [
        kMethodNames[m],
        ...below.map((f) => {
          const stat = meanOver(runs, (x) => x.ks[m]?.[fractionKey(f)]?.statistic);
          const ps = runs.map((x) => x.ks[m]?.[fractionKey(f)]?.pvalue).filter((v): v is number => v !== undefined);
          return stat === undefined ? '—' : `${stat.toFixed(3)} (p ${Math.max(...ps).toExponential(1)})`;
        }),
        ...paperSets.map((d) => `${kPaperKs[d][m]['0.06']} / ${kPaperKs[d][m]['0.01']}`),
      ]),
    ),
    '',
  );

  const plotLines = Object.entries(plots).map(([kind, file]) => `![${kind}](${file})`);
  if (plotLines.length) out.push('## Plots', '', ...plotLines, '');

  const timings = Object.entries(r.timings);
  if (timings.length || r.estimate) {
    out.push('## Time', '');
    const stages = new Map<string, number>();
    for (const [cell, seconds] of timings) stages.set(stageOf(cell), (stages.get(stageOf(cell)) ?? 0) + seconds);
    const total = [...stages.values()].reduce((a, b) => a + b, 0);
    if (r.estimate) out.push(`Estimated before starting: ${minutes(r.estimate.seconds)} — ${r.estimate.basis}.`, '');
    out.push(`Wall clock of the finished cells: ${minutes(total)}${r.budget ? ` (budget ${r.budget})` : ''}.`, '');
    out.push(table(['stage', 'cells', 'wall clock'], [...stages.entries()].map(([stage, seconds]) => [stage, String(timings.filter(([c]) => stageOf(c) === stage).length), minutes(seconds)])), '');
  }
  return out.join('\n');
}
