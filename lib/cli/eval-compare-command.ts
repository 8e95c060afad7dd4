/**
 * `eval cka` and `eval ks`: the paper's two comparisons of models rather than of files. `eval cka`
 * embeds the same split with two checkpoints (e.g. pre-trained and fine-tuned) and compares
 * their features per block; `eval ks` compares the test probabilities of two fine-tuning runs
 * (`eval finetune` folders or predictions files). Both print what `analyze cka|ks` print.
 */
import { existsSync, mkdirSync, mkdtempSync, statSync } from 'fs';
import os from 'os';
import path from 'path';
import type { Command } from 'commander';
import { cka, kCkaDefaults } from '../analysis/cka';
import { ks } from '../analysis/ks';
import type { SplitName } from '../data/store';
import { ImlmError } from '../errors';
import { embed } from '../eval';
import { finetunePaths } from '../eval/finetune';
import { ckaJson, ckaTable, ksJson, ksTable } from '../analysis/commands';
import { readManifest } from '../data/store';
import { checkInputFile, checkOutputFolder, choice, intAtLeast, num } from './flags';

/** A predictions file, or the test predictions of an `eval finetune` run folder. */
export function predictionsOf(source: string): string {
  if (existsSync(source) && statSync(source).isDirectory()) {
    const file = finetunePaths(source).predictions;
    if (!existsSync(file)) throw new ImlmError(`${source} holds no ${path.basename(file)}: expected an \`eval finetune\` run folder or a predictions file`, 'ERR_INVALID_ARG');
    return file;
  }
  return source;
}

const count = intAtLeast(0);

export function registerEvalCompare(program: Command): void {
  const evalCommand = program.commands.find((c) => c.name() === 'eval');
  if (!evalCommand) throw new ImlmError('internal: the eval command must be registered first', 'ERR_INTERNAL');
  evalCommand
    .command('cka')
    .description('CKA per block between the features two checkpoints give the same split (e.g. before and after fine-tuning)')
    .requiredOption('--before <checkpoint>', 'the first network (e.g. the pre-trained backbone)')
    .requiredOption('--after <checkpoint>', 'the second (e.g. checkpoints/best.safetensors of an `eval finetune` run)')
    .requiredOption('--data <store>', 'the prepared store')
    .option('--split <name>', 'the split to embed: train | val | test', choice('--split', ['train', 'val', 'test']), 'test')
    .option('--out <dir>', 'where the two features files are written (default: a temporary folder)')
    .option('--kernel <kind>', "rbf (the paper's) or linear", choice('--kernel', ['linear', 'rbf']), kCkaDefaults.kernel)
    .option('--sigma <x>', 'RBF: absolute σ (the paper: 0.8) (default: none, σ from --sigma-median-fraction)', num)
    .option('--sigma-median-fraction <f>', 'RBF: σ = f × the median distance (default 1)', num)
    .option('--sets <n>', 'bootstrap sets (the paper: 50)', count, 50)
    .option('--set-size <n>', 'samples per set (the paper: 1000)', count, 1000)
    .option('--seed <n>', 'seed of the sets', count, 0)
    .option('--json', 'print one JSON object (as `analyze cka`)')
    .action(async (flags: { before: string; after: string; data: string; split: SplitName; out?: string; kernel: string; sigma?: number; sigmaMedianFraction?: number; sets: number; setSize: number; seed: number; json?: boolean }) => {
      checkInputFile('--before', flags.before);
      checkInputFile('--after', flags.after);
      if (flags.out) checkOutputFolder('--out', flags.out);
      await readManifest(flags.data);
      const dir = flags.out ?? mkdtempSync(path.join(os.tmpdir(), 'imlm-eval-cka-'));
      mkdirSync(dir, { recursive: true });
      const files = { before: path.join(dir, `before-${flags.split}.safetensors`), after: path.join(dir, `after-${flags.split}.safetensors`) };
      await embed({ checkpoint: flags.before, store: flags.data, split: flags.split, out: files.before });
      const embedded = await embed({ checkpoint: flags.after, store: flags.data, split: flags.split, out: files.after });
      const report = await cka(files.before, files.after, {
        tensors: ['block1', 'block2', 'block3', 'block4'],
        kernel: flags.kernel as 'linear' | 'rbf',
        sigma: flags.sigma,
        sigmaMedianFraction: flags.sigmaMedianFraction,
        sets: flags.sets,
        setSize: Math.min(flags.setSize, embedded.count),
        seed: flags.seed,
      });
      process.stdout.write((flags.json ? JSON.stringify(ckaJson(report)) : ckaTable(report)) + '\n');
    });
  evalCommand
    .command('ks')
    .description("KS distance between two fine-tuned models' test probabilities (e.g. 1% against 100% of the labels)")
    .argument('<a>', 'an `eval finetune` run folder or a predictions file')
    .argument('<b>', 'another, on the same test samples')
    .option('--method <m>', 'p-value: asymp, exact or auto (as scipy ks_2samp)', choice('--method', ['asymp', 'exact', 'auto']), 'asymp')
    .option('--json', 'print one JSON object (as `analyze ks`)')
    .action(async (a: string, b: string, flags: { method: string; json?: boolean }) => {
      const report = await ks(predictionsOf(a), predictionsOf(b), { method: flags.method as 'asymp' | 'exact' | 'auto' });
      process.stdout.write((flags.json ? JSON.stringify(ksJson(report)) : ksTable(report)) + '\n');
    });
}
