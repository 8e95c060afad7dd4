/**
 * report.md of `imlm-native paper`: the user's results in tables laid out like the paper's, with
 * the paper's numbers beside them (always labelled as the paper's, from docs/method.md). Where the
 * store is not one of the paper's data sets, the paper's rows for all three are listed for
 * orientation only.
 */
import {
  kMethodNames, kPaperCka, kPaperDatasets, kPaperFinetune, kPaperKs, kPaperLinear, kPaperProbe,
  paperDatasetOf, type PaperDataset, type PaperMethod,
} from './paper-numbers';
import { fractionKey, type MetricWithCi, type PaperResults } from './results';

const pct = (v: number | undefined, digits = 1) => (v === undefined || !Number.isFinite(v) ? '—' : (100 * v).toFixed(digits));
const withCi = (m: MetricWithCi | undefined) => (m ? `${pct(m.value)}${m.ci ? ` (${pct(m.ci[0])}–${pct(m.ci[1])})` : ''}` : '—');
const fractionLabel = (f: number) => `${+(f * 100).toFixed(2)}%`;

function table(header: string[], rows: string[][]): string {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

export interface ReportPlots {
  /** File names relative to the report, by kind. */
  [kind: string]: string;
}

export function renderReport(r: PaperResults, plots: ReportPlots = {}): string {
  const paper = paperDatasetOf(r.sourceFormat);
  const paperSets: PaperDataset[] = paper ? [paper] : ['nih', 'dr', 'bch'];
  const paperNote = paper
    ? `The column "paper" holds the paper's numbers for ${kPaperDatasets[paper].name} (Kaku et al., NeurIPS 2021), not ours.`
    : `This data set is not one of the paper's; the paper's numbers for its three data sets (NIH, DR, BCH) are listed after ours for orientation only.`;
  const ssl = r.methods.filter((m) => m !== 'supervised');
  const out: string[] = [];
  out.push(`# imlm-native paper report`, '');
  out.push(`Data: \`${r.store}\` (${r.sourceFormat}, ${r.task}, ${r.classes.length} classes). Metric: ${r.metric.label}, ×100, with bootstrap 95% percentile intervals where computed.`);
  out.push('', paperNote, '');
  out.push('Settings: ' + Object.entries(r.settings).map(([k, v]) => `${k} ${typeof v === 'object' ? JSON.stringify(v) : v}`).join('; ') + '.', '');

  out.push('## Linear probing', '');
  out.push(
    table(
      ['method', `ours (${r.metric.label})`, ...paperSets.map((d) => `paper, ${d.toUpperCase()} (${kPaperDatasets[d].metric})`)],
      r.methods.map((m) => [kMethodNames[m], withCi(r.linear[m]), ...paperSets.map((d) => { const [v, lo, hi] = kPaperLinear[d][m]; return `${v} (${lo}–${hi})`; })]),
    ),
    '',
  );

  out.push('## Fine-tuning by label fraction', '');
  const fractions = [...r.fractions].sort((a, b) => b - a);
  out.push(
    table(
      ['fraction', ...r.methods.map((m) => kMethodNames[m])],
      fractions.flatMap((f) => {
        const ours = [`${fractionLabel(f)} — ours`, ...r.methods.map((m) => withCi(r.finetune[m]?.[fractionKey(f)]))];
        const theirs = paperSets
          .filter((d) => kPaperFinetune[d][fractionKey(f)])
          .map((d) => [`${fractionLabel(f)} — paper, ${d.toUpperCase()}`, ...r.methods.map((m) => String(kPaperFinetune[d][fractionKey(f)][m]))]);
        return [ours, ...theirs];
      }),
    ),
    '',
  );

  out.push('## Layer-wise probing (blocks 1–4)', '');
  out.push(
    table(
      ['method', 'block 1', 'block 2', 'block 3', 'block 4'],
      ssl.flatMap((m) => [
        [`${kMethodNames[m]} — ours`, ...[0, 1, 2, 3].map((b) => withCi(r.probe[m]?.[b]))],
        ...paperSets.map((d) => [`${kMethodNames[m]} — paper, ${d.toUpperCase()}`, ...kPaperProbe[d][m as Exclude<PaperMethod, 'supervised'>].map(String)]),
      ]),
    ),
    '',
  );

  const smallest = Math.min(...r.fractions);
  out.push(`## Feature reuse: CKA before vs after fine-tuning on ${fractionLabel(smallest)} of the labels`, '');
  out.push(
    table(
      ['method', 'B1', 'B2', 'B3', 'B4', 'performance'],
      ssl.flatMap((m) => {
        const c = r.cka[m];
        const ours = [`${kMethodNames[m]} — ours${c ? ` (${c.kernel})` : ''}`, ...[0, 1, 2, 3].map((b) => (c?.blocks[b] ? `${c.blocks[b].mean.toFixed(2)} ± ${c.blocks[b].std.toFixed(2)}` : '—')), withCi(r.finetune[m]?.[fractionKey(smallest)])];
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
  out.push(
    table(
      ['method', ...below.map((f) => `${fractionLabel(f)} — ours (statistic, p)`), ...paperSets.map((d) => `paper, ${d.toUpperCase()} (6% / 1%)`)],
      r.methods.map((m) => [
        kMethodNames[m],
        ...below.map((f) => { const k = r.ks[m]?.[fractionKey(f)]; return k ? `${k.statistic.toFixed(3)} (p ${k.pvalue.toExponential(1)})` : '—'; }),
        ...paperSets.map((d) => `${kPaperKs[d][m]['0.06']} / ${kPaperKs[d][m]['0.01']}`),
      ]),
    ),
    '',
  );

  const plotLines = Object.entries(plots).map(([kind, file]) => `![${kind}](${file})`);
  if (plotLines.length) out.push('## Plots', '', ...plotLines, '');
  const timings = Object.entries(r.timings);
  if (timings.length) {
    out.push('## Time', '', table(['cell', 'seconds'], timings.map(([k, v]) => [k, v.toFixed(1)])), '');
  }
  return out.join('\n');
}
