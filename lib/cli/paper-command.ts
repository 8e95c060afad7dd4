import { existsSync } from 'fs';
import path from 'path';
import type { Command } from 'commander';
import { ImlmError } from '../errors';
import type { PaperMethod } from '../paper/paper-numbers';
import { runPaper, type PaperEvent } from '../paper/run-paper';
import { parseSubsetSizes, writeSubsetStore, type SubsetSizes } from '../paper/subset-store';
import { kPaperBudgetNames, kPaperBudgets, type PaperBudget, type PaperBudgetName } from '../paper/budgets';
import type { TrainConfigOverrides } from '../config/train-config';
import { resolveRunConfig } from '../train/train-run';
import { demoStoreInstalling } from './demo-store';
import { resolvePolicy } from '../data/policies';
import { readManifest } from '../data/store';
import { abortOnSignals, checkInputFile, checkOutputFolder, choice, configNumber, intAtLeast, intFlag, num, numList } from './flags';
import { archChoicesText } from '../config/archs';
import { kCkaDefaults } from '../analysis/cka';
import { kFinetuneDefaults } from '../eval/options';
import { defaultText, presetDefaultText } from './default-text';

const kMethods: PaperMethod[] = ['moco', 'mse', 'barlow', 'supervised'];

const positive = intAtLeast(1);

function parseMethods(text: string): PaperMethod[] {
  const list = text.split(',').map((s) => s.trim());
  for (const m of list) {
    if (!kMethods.includes(m as PaperMethod)) throw new ImlmError(`Expected methods among ${kMethods.join(', ')} but received '${m}'`, 'ERR_INVALID_ARG');
  }
  return list as PaperMethod[];
}

function parseCheckpoints(text: string): Partial<Record<PaperMethod, string>> {
  const out: Partial<Record<PaperMethod, string>> = {};
  for (const part of text.split(',')) {
    const [m, file] = part.split('=');
    if (!file || !parseMethods(m).length) throw new ImlmError(`Expected --checkpoints like 'mse=runs/a/backbone.safetensors,moco=…' but received '${text}'`, 'ERR_INVALID_ARG');
    checkInputFile(`--checkpoints ${m}=`, file);
    out[m as PaperMethod] = path.resolve(file);
  }
  return out;
}

interface PaperFlags {
  data?: string;
  out: string;
  methods: string;
  fractions?: number[];
  checkpoints?: string;
  subset?: string;
  preset: string;
  arch?: string;
  stem?: string;
  imageSize?: number;
  batchSize?: number;
  queueSize?: number;
  pretrainSteps?: number;
  finetuneSteps?: number;
  evalEvery?: number;
  patience?: number;
  resamples?: number;
  ckaKernel: 'linear' | 'rbf';
  ckaSigma?: number;
  ckaSets?: number;
  augment: string;
  seed: number;
  seeds: number;
  budget?: PaperBudgetName;
  estimate: boolean;
  json?: boolean;
}

export function registerPaper(program: Command): void {
  program
    .command('paper')
    .description("the paper's whole protocol on one data set, over one or more seeds (pre-train, layer-wise and linear probes, fine-tune per label fraction, CKA, KS), the paper's claims as paired differences with intervals, and a report beside the paper's numbers; resumable")
    .option('--data <store>', 'a prepared store (default: the Fashion-MNIST demo)')
    .option('--out <dir>', 'the run folder (results.json, report.md, plots/, one folder per cell)', 'runs/paper')
    .option('--methods <list>', 'any of moco,mse,barlow,supervised', 'moco,mse,barlow,supervised')
    .option('--budget <name>', `${kPaperBudgetNames.join(', ')}: subset sizes, fractions, network, steps and analysis sizes in one word (docs/cli.md); flags given beside it override its values (default: none, every setting from its flag)`, choice('--budget', kPaperBudgetNames))
    .option('--seeds <n>', 'repeat the protocol with seeds --seed, --seed + 1, …; the report gives mean, spread and each seed, and pools the paired comparisons', positive, 1)
    .option('--no-estimate', 'do not time a few steps to estimate the run before starting')
    .option('--fractions <list>', "label fractions, e.g. 0.01,1 (default: the budget's, else the store's)", numList)
    .option('--checkpoints <list>', 'pre-trained checkpoints to use instead of pre-training: mse=FILE,moco=FILE (default: none, every method pre-trains)')
    .option('--subset <sizes>', "run on a seeded, stratified subset of the store: train=5000,val=1000,test=2000 (default: the budget's, else none: the whole store)")
    .option('--preset <name>', 'pre-training preset', 'kaku2021')
    .option('--arch <name>', `${archChoicesText} (pre-training and the supervised baseline) ${presetDefaultText('arch', { demo: false })}`)
    .option('--stem <kind>', `standard or small ${presetDefaultText('stem', { demo: false })}`)
    .option('--image-size <n>', `training image side ${presetDefaultText('imageSize', { demo: false })}`, configNumber('--image-size', 'imageSize'))
    .option('--batch-size <n>', `pre-training batch size ${presetDefaultText('batchSize', { demo: false })}`, configNumber('--batch-size', 'batchSize'))
    .option('--queue-size <n>', `MoCo's queue of negatives ${presetDefaultText('queueSize', { demo: false })}`, configNumber('--queue-size', 'queueSize'))
    .option('--pretrain-steps <n>', `pre-training budget per method ${presetDefaultText('totalSteps', { demo: false })}`, positive)
    .option('--finetune-steps <n>', "fine-tuning budget per cell (default: the paper's 100 epochs)", positive)
    .option('--eval-every <n>', "fine-tuning steps between validations (default: the budget's, else one epoch)", positive)
    .option('--patience <n>', `validations without improvement before stopping early ${defaultText(kFinetuneDefaults.patience)}`, positive)
    .option('--resamples <n>', "bootstrap resamples for the test metrics and the paired comparisons (default: the budget's, else 1000)", positive)
    .option('--cka-kernel <kind>', "rbf (the paper's) or linear", choice('--cka-kernel', ['linear', 'rbf']), kCkaDefaults.kernel)
    .option('--cka-sigma <x>', 'RBF σ, absolute (the paper: 0.8) (default: the median distance)', num)
    .option('--cka-sets <n>', "CKA bootstrap sets (the paper: 50 × 1000 samples) (default: the budget's, else 50)", positive)
    .option('--augment <policy>', 'pre-training augmentation (name or policy file)', 'mocov2')
    .option('--seed <n>', 'seed of every cell', intFlag('--seed', 0), 0)
    .option('--json', 'print results.json as one object at the end')
    .action(async (flags: PaperFlags) => {
      const log = (m: string) => process.stderr.write(`imlm-native: ${m}\n`);
      // Every flag and path is checked before the demo store, a subset or a cell is written.
      const methods = parseMethods(flags.methods);
      const checkpoints = flags.checkpoints ? parseCheckpoints(flags.checkpoints) : undefined;
      const budget: PaperBudget | undefined = flags.budget ? kPaperBudgets[flags.budget] : undefined;
      const subsetSizes: SubsetSizes | undefined = flags.subset ? parseSubsetSizes(flags.subset) : (budget?.subset ?? undefined);
      const fractions = flags.fractions ?? (budget?.fractions ? [...budget.fractions] : undefined);
      const pretrainOverrides = Object.fromEntries(
        Object.entries({ ...budget?.pretrainOverrides, arch: flags.arch, stem: flags.stem, imageSize: flags.imageSize, batchSize: flags.batchSize, queueSize: flags.queueSize }).filter(
          ([, v]) => v !== undefined,
        ),
      ) as TrainConfigOverrides;
      const fromBudget = <T,>(flag: T | undefined, value: T | null | undefined): T | undefined => flag ?? value ?? undefined;
      // The pre-training fields (also the supervised baseline's network) are checked by the
      // configuration's schema — the one place their ranges live — before anything is written.
      resolveRunConfig({ preset: flags.preset, overrides: pretrainOverrides, cuda: false });
      if (fractions && fractions.some((f) => !(f > 0 && f <= 1))) {
        throw new ImlmError(`Expected --fractions in (0, 1] but received '${fractions.join(',')}'`, 'ERR_INVALID_ARG');
      }
      resolvePolicy(flags.augment);
      checkOutputFolder('--out', flags.out);
      if (flags.data) await readManifest(flags.data);
      let store = flags.data ? path.resolve(flags.data) : await demoStoreInstalling(log);
      if (!store) throw new ImlmError('no --data given and the Fashion-MNIST demo store cannot be had (install dataset-fashion-mnist)', 'ERR_INVALID_ARG');
      const out = path.resolve(flags.out);
      if (subsetSizes) {
        const subset = path.join(out, 'data');
        if (!existsSync(subset)) {
          log(`drawing the subset ${Object.entries(subsetSizes).map(([k, v]) => `${k}=${v}`).join(',')} of ${store} into ${subset}`);
          await writeSubsetStore(store, subset, subsetSizes, { seed: flags.seed, fractions });
        }
        store = subset;
      }
      if (budget?.imageSize === 'store' && flags.imageSize === undefined) pretrainOverrides.imageSize = (await readManifest(store)).imageSize[0];
      if (budget) log(`budget ${flags.budget}: ${budget.description}`);
      const controller = new AbortController();
      const stop = abortOnSignals(controller, 'after the current step (the finished cells are kept; run the same command to continue)');
      const removeSigint = stop.remove;
      const onEvent = (e: PaperEvent) => {
        if (e.kind === 'estimate') log(`estimated time: about ${Math.round(e.estimate.seconds / 60)} min (${e.estimate.basis})`);
        if (e.kind === 'cell-start') log(`[${e.index + 1}/${e.total}] ${e.cell}`);
        if (e.kind === 'cell-done') log(`  ${e.cell}: ${e.summary} (${e.seconds.toFixed(0)} s)`);
        if (e.kind === 'cell-skipped') log(`  ${e.cell}: already done`);
        if (e.kind === 'progress' && e.done % 50 === 0) log(`  ${e.cell}: ${e.done}/${e.total} ${e.detail}`);
      };
      try {
        const result = await runPaper({
          store,
          outDir: out,
          methods,
          fractions,
          checkpoints,
          preset: flags.preset,
          pretrainOverrides,
          pretrainSteps: fromBudget(flags.pretrainSteps, budget?.pretrainSteps),
          finetuneSteps: fromBudget(flags.finetuneSteps, budget?.finetuneSteps),
          evalEvery: fromBudget(flags.evalEvery, budget?.evalEvery),
          finetuneBatchSize: budget?.finetuneBatchSize ?? undefined,
          patience: flags.patience,
          resamples: fromBudget(flags.resamples, budget?.resamples),
          cka: {
            kernel: flags.ckaKernel, sigma: flags.ckaSigma, sets: fromBudget(flags.ckaSets, budget?.cka.sets) ?? kCkaDefaults.sets,
            ...(budget ? { setSize: budget.cka.setSize } : {}),
          },
          augment: flags.augment,
          seed: flags.seed,
          seeds: flags.seeds,
          budget: flags.budget,
          estimate: flags.estimate,
          onEvent,
          signal: controller.signal,
        });
        if (flags.json) process.stdout.write(JSON.stringify(result.results) + '\n');
        else process.stdout.write(`${result.report}\nwrote ${path.join(out, 'report.md')}, ${result.resultsFile}, ${Object.values(result.plots).join(', ')}\n`);
      } catch (e) {
        if ((e as ImlmError).code === 'ERR_CANCELLED') {
          log((e as Error).message);
          process.exitCode = stop.exitCode() ?? 130;
          return;
        }
        throw e;
      } finally {
        removeSigint();
      }
    });
}
