import path from 'path';
import type { Command } from 'commander';
import { inspectStore, type InspectResult } from '../data/inspect';
import type { SplitName } from '../data/store';
import { checkOutputFolder, choice, intFlag } from './flags';

function table(result: InspectResult): string {
  const splits = Object.keys(result.splits) as SplitName[];
  const lines = [
    `${result.store}: ${result.task}, ${result.classes.length} classes, ${result.channels}×${result.imageSize.join('×')}` +
      (result.skipped ? `, ${result.skipped} source files skipped (see manifest.json)` : ''),
    '',
    `| class | ${splits.join(' | ')} |`,
    `|---|${splits.map(() => '---:').join('|')}|`,
    ...result.classes.map((c) => `| ${c} | ${splits.map((s) => result.splits[s]!.perClass[c] ?? 0).join(' | ')} |`),
  ];
  if (result.task === 'multilabel') lines.push(`| (no label) | ${splits.map((s) => result.splits[s]!.noLabel ?? 0).join(' | ')} |`);
  lines.push(`| **total** | ${splits.map((s) => result.splits[s]!.count).join(' | ')} |`);
  if (result.files.length) lines.push('', `wrote ${result.files.join(', ')}`);
  return lines.join('\n') + '\n';
}

export function registerInspect(program: Command): void {
  program
    .command('inspect')
    .description('counts per split and class of a prepared store, and PNG contact sheets of samples and augmented view pairs')
    .argument('<store>', 'a store made by `imlm-native prepare`')
    .option('--out <dir>', 'folder for samples.png, views.png and legend.json (default: <store>-inspect beside the store)')
    .option('--no-images', 'print the counts only')
    .option('--split <name>', 'split the pictures come from: train | val | test', choice('--split', ['train', 'val', 'test']), 'train')
    .option('--samples <n>', 'images on the sample sheet', intFlag('--samples', 1), 64)
    .option('--pairs <n>', 'images shown with two augmented views each', intFlag('--pairs', 1), 16)
    .option('--augment <policy>', 'augmentation policy for the views (name or .json/.yaml file)', 'mocov2')
    .option('--seed <n>', 'which samples and views', intFlag('--seed', 0), 0)
    .option('--json', 'print the result as one JSON object')
    .action(
      async (
        store: string,
        flags: { out?: string; images: boolean; split: SplitName; samples: number; pairs: number; augment: string; seed: number; json?: boolean },
      ) => {
        const out = flags.images ? (flags.out ?? `${path.resolve(store).replace(/[\\/]+$/, '')}-inspect`) : undefined;
        if (out) checkOutputFolder('--out', out);
        const result = await inspectStore(store, {
          out,
          split: flags.split,
          samples: flags.samples,
          pairs: flags.pairs,
          policy: flags.augment,
          seed: flags.seed,
        });
        process.stdout.write(flags.json ? JSON.stringify(result) + '\n' : table(result));
      },
    );
}
