import type { Command } from 'commander';
import { kAdamSweep, kEvalDefaults, kFinetuneDefaults, kLbfgsSweep, kProbeDefaults } from '../eval/options';
import { defaultText } from './default-text';
import { finetune, type FinetuneProgress } from '../eval/finetune';
import { layerwiseProbe, linearProbe, type ProbeOptions, type ProbeResult } from '../eval/linear';
import type { SelectionMetric } from '../eval/selection-metric';
import { ImlmError } from '../errors';
import { resolvePolicy } from '../data/policies';
import { readManifest } from '../data/store';
import { abortOnSignals, checkInputFile, checkOutputFolder, choice, intFlag, intList, numFlag, numList, sweepFrom } from './flags';
import { evalDistOptions, rankDevice, runEvalRank, type DistFlags, type EvalRank } from './dist-flags';
import { ProgressDisplay } from './progress';
import { ARCHS, archChoicesText, type Arch } from '../config/archs';

interface CommonFlags {
  data: string;
  out: string;
  fraction: number;
  metric?: SelectionMetric;
  imageSize?: number;
  device: string;
  threads?: number;
  seed?: number;
  json?: boolean;
}

interface ProbeFlags extends CommonFlags, DistFlags {
  checkpoint: string;
  block?: number;
  blocks?: number[];
  method?: 'lbfgs' | 'adam';
  lrs?: number[];
  weightDecays?: number[];
  maxIterations?: number;
  epochs?: number;
  batchSize?: number;
  standardize: boolean;
  featureBatchSize?: number;
}

interface FinetuneFlags extends CommonFlags {
  checkpoint?: string;
  fromScratch?: boolean;
  arch?: Arch;
  stem?: 'standard' | 'small';
  augment?: string;
  lr?: number;
  weightDecay?: number;
  batchSize?: number;
  epochs?: number;
  maxSteps?: number;
  evalEvery?: number;
  patience?: number;
  resume?: boolean;
}

function commonOptions(command: Command, dataRequired = true): Command {
  const withData = dataRequired
    ? command.requiredOption('--data <store>', 'a prepared data set (imlm-native prepare)')
    : command.option('--data <store>', 'a prepared data set (imlm-native prepare); not needed with --resume (default: none; required for a new run)');
  return withData
    .requiredOption('--out <dir>', 'run folder: results.json, predictions, caches')
    .option('--fraction <f>', 'label fraction of the training split (one the store records, e.g. 0.01, 0.06; 1 = all)', numFlag('--fraction', 0, { exclusiveMin: true, max: 1 }), 1)
    .option('--metric <m>', 'validation metric that selects: accuracy | auc (default accuracy; auc for multilabel)', choice('--metric', ['accuracy', 'auc']))
    .option('--image-size <n>', 'resize images to this side (default: the size the checkpoint trained at, else the store\'s)', intFlag('--image-size', 8))
    .option('--device <d>', 'auto | cpu | cuda | cuda:N', 'auto')
    .option('--threads <n>', 'intra-op CPU threads (default one per core)', intFlag('--threads', 1))
    .option('--seed <n>', `seed (data order, initialisation) ${defaultText(kEvalDefaults.seed)}`, intFlag('--seed', 0))
    .option('--json', 'print the result as one JSON object');
}

function probeOptions(command: Command): Command {
  return evalDistOptions(commonOptions(command))
    .requiredOption('--checkpoint <file>', "a run's checkpoints/last.safetensors or backbone.safetensors")
    .option('--method <m>', `lbfgs (full batch, weight decay swept) | adam (mini-batch, lr × weight decay swept) ${defaultText(kProbeDefaults.method)}`, choice('--method', ['lbfgs', 'adam']))
    .option('--lrs <list>', `Adam learning rates to sweep, comma-separated ${defaultText([...new Set(kAdamSweep.map((p) => p.lr))])}`, numList)
    .option('--weight-decays <list>', `L2 strengths to sweep, comma-separated (default: L-BFGS ${[...new Set(kLbfgsSweep.map((p) => p.weightDecay))].join(',')}; Adam ${[...new Set(kAdamSweep.map((p) => p.weightDecay))].join(',')})`, numList)
    .option('--max-iterations <n>', `L-BFGS iterations per sweep point ${defaultText(kProbeDefaults.maxIterations)}`, intFlag('--max-iterations', 1))
    .option('--epochs <n>', `Adam epochs per sweep point ${defaultText(kProbeDefaults.epochs)}`, intFlag('--epochs', 1))
    .option('--batch-size <n>', `Adam batch size ${defaultText(kProbeDefaults.batchSize)}`, intFlag('--batch-size', 1))
    .option('--no-standardize', 'train on raw features (default: z-scored with the training rows\' statistics)')
    .option('--feature-batch-size <n>', `images per backbone forward when computing features ${defaultText(kProbeDefaults.featureBatchSize)}`, intFlag('--feature-batch-size', 1));
}

function toProbeOptions(flags: ProbeFlags, onProgress: ProbeOptions['onProgress'], signal: AbortSignal, rank: EvalRank, device: string): ProbeOptions {
  return {
    checkpoint: flags.checkpoint,
    store: flags.data,
    outDir: flags.out,
    fraction: flags.fraction,
    block: flags.block,
    blocks: flags.blocks,
    method: flags.method,
    sweep: sweepFrom(flags.lrs, flags.weightDecays),
    maxIterations: flags.maxIterations,
    epochs: flags.epochs,
    batchSize: flags.batchSize,
    standardize: flags.standardize,
    metric: flags.metric,
    imageSize: flags.imageSize,
    featureBatchSize: flags.featureBatchSize,
    device,
    threads: flags.threads,
    seed: flags.seed,
    onProgress,
    signal,
    group: rank.group ?? undefined,
  };
}

/**
 * What an evaluation can get wrong before any work: the checkpoint, the store, the label
 * fraction it must record, the run folder (a folder, not a file; creatable).
 */
async function checkEvalInputs(flags: CommonFlags & { checkpoint?: string; lrs?: number[]; weightDecays?: number[] }): Promise<void> {
  if (flags.checkpoint) checkInputFile('--checkpoint', flags.checkpoint);
  checkOutputFolder('--out', flags.out);
  for (const [flag, list, positive] of [['--lrs', flags.lrs, true], ['--weight-decays', flags.weightDecays, false]] as const) {
    const bad = list?.find((x) => (positive ? !(x > 0) : !(x >= 0)));
    if (list && (list.length === 0 || bad !== undefined)) {
      throw new ImlmError(`Expected ${flag} as comma-separated numbers ${positive ? '> 0' : '>= 0'} but received ${list.length ? bad : 'none'}`, 'ERR_INVALID_ARG');
    }
  }
  if (!flags.data) return;
  const manifest = await readManifest(flags.data);
  if (flags.fraction !== 1) {
    const recorded = Object.keys(manifest.labelFractions?.fractions ?? {}).map(Number);
    if (!recorded.includes(flags.fraction)) {
      throw new ImlmError(
        `Expected a label fraction the store records (${recorded.sort((a, b) => a - b).join(', ') || 'none'}) but received ${flags.fraction}; prepare the store with that fraction (prepare --fractions)`,
        'ERR_INVALID_ARG',
      );
    }
  }
}

function printProbe(result: ProbeResult, json?: boolean): void {
  if (json) {
    process.stdout.write(JSON.stringify(result) + '\n');
    return;
  }
  process.stdout.write(`${result.kind === 'linear' ? 'linear probe' : 'layer-wise probe'} (${result.method}, fraction ${result.fraction}, ${result.counts.train} training rows), ${result.metric}:\n`);
  process.stdout.write('| block | features | chosen lr | chosen weight decay | val | test |\n|---|---|---|---|---|---|\n');
  for (const b of result.blocks) {
    process.stdout.write(`| ${b.block} | ${b.featureDim} | ${b.chosen.lr} | ${b.chosen.weightDecay} | ${b.chosen.valMetric.toFixed(4)} | ${b.test.value.toFixed(4)} |\n`);
  }
  process.stdout.write(`results: ${result.results}\n`);
}

/** One process's part of a probe: alone, all of it; as a rank, its shard of the features (rank 0 fits, writes and reports). */
async function probeAsRank(kind: 'linear' | 'probe', flags: ProbeFlags, rank: EvalRank): Promise<void> {
  const controller = new AbortController();
  const removeSigint = abortOnSignals(controller, 'the probe').remove;
  try {
    const onProgress: ProbeOptions['onProgress'] = (p) => {
      if (p.stage === 'features' && (p.done === p.total || p.done % 2048 < 256)) process.stderr.write(`features ${p.split}: ${p.done}/${p.total}\n`);
      if (p.stage === 'sweep') process.stderr.write(`block ${p.block}: sweep point ${p.done}/${p.total}, val ${p.value.toFixed(4)}\n`);
    };
    const device = rank.dist ? await rankDevice(flags.device, rank.dist) : flags.device;
    const result = await (kind === 'linear' ? linearProbe : layerwiseProbe)(toProbeOptions(flags, onProgress, controller.signal, rank, device));
    if (result) printProbe(result, flags.json); // null: a rank other than 0, done once the features are gathered
  } finally {
    removeSigint();
  }
}

export function registerEval(program: Command): void {
  const evalCommand = program.command('eval').description('evaluate a pre-trained encoder: linear probing, fine-tuning at a label fraction, layer-wise probing, CKA and KS comparisons');

  probeOptions(evalCommand.command('linear').description('linear probe on the frozen backbone (eval mode, features cached once), sweep chosen on validation'))
    .option('--block <k>', 'the block whose pooled features the head reads (1–4)', intFlag('--block', 1, 4), 4)
    .action(async (flags: ProbeFlags) => {
      await checkEvalInputs(flags);
      await runEvalRank(flags, (rank) => probeAsRank('linear', flags, rank));
    });

  probeOptions(evalCommand.command('probe').description('layer-wise probing: a linear probe on each block\'s pooled features'))
    .option('--blocks <list>', 'blocks to probe, comma-separated (each 1–4) (default: 1,2,3,4)', (v: string) => {
      const blocks = intList(v);
      if (blocks.length === 0 || blocks.some((b) => b < 1 || b > 4)) throw new ImlmError(`Expected --blocks as comma-separated blocks from 1 to 4 but received '${v}'`, 'ERR_INVALID_ARG');
      return blocks;
    })
    .action(async (flags: ProbeFlags) => {
      await checkEvalInputs(flags);
      await runEvalRank(flags, (rank) => probeAsRank('probe', flags, rank));
    });

  commonOptions(evalCommand.command('finetune').description('fine-tune the whole network at a label fraction (from a checkpoint, or --from-scratch), selected on validation'), false)
    .option('--checkpoint <file>', 'pre-trained weights: checkpoints/last.safetensors or backbone.safetensors (default: none; required unless --from-scratch or --resume)')
    .option('--from-scratch', 'random initialisation (the supervised baseline)')
    .option('--arch <name>', `with --from-scratch: ${archChoicesText} ${defaultText(kFinetuneDefaults.arch)}`, choice('--arch', ARCHS))
    .option('--stem <kind>', `with --from-scratch: standard | small ${defaultText(kFinetuneDefaults.stem)}`, choice('--stem', ['standard', 'small']))
    .option('--augment <policy>', 'training augmentation: kaku2021-cxr | kaku2021-dr | kaku2021-bch | mocov2 | none (default: by the store\'s source)')
    .option('--lr <x>', `Adam learning rate ${defaultText(kFinetuneDefaults.lr)}`, numFlag('--lr', 0, { exclusiveMin: true }))
    .option('--weight-decay <x>', `Adam L2 weight decay ${defaultText(kFinetuneDefaults.weightDecay)}`, numFlag('--weight-decay', 0))
    .option('--batch-size <n>', `images per step ${defaultText(kFinetuneDefaults.batchSize)}`, intFlag('--batch-size', 1))
    .option('--epochs <n>', `budget in epochs of the labelled subset ${defaultText(kFinetuneDefaults.epochs)}`, intFlag('--epochs', 1))
    .option('--max-steps <n>', 'budget in steps (overrides --epochs) (default: none, --epochs decides)', intFlag('--max-steps', 1))
    .option('--eval-every <n>', 'steps between validations (default one epoch)', intFlag('--eval-every', 1))
    .option('--patience <n>', `stop after this many validations without improvement ${defaultText(kFinetuneDefaults.patience)}`, intFlag('--patience', 1))
    .option('--resume', 'continue the run in --out from its last checkpoint')
    .action(async (flags: FinetuneFlags) => {
      if (!flags.data && !flags.resume) throw new ImlmError("required option '--data <store>' not specified", 'ERR_INVALID_ARG');
      if (!flags.resume && flags.fromScratch && flags.checkpoint) {
        throw new ImlmError('Expected either --checkpoint <file> or --from-scratch but received both; pass one', 'ERR_INVALID_ARG');
      }
      if (!flags.resume && !flags.fromScratch && !flags.checkpoint) {
        throw new ImlmError('fine-tuning needs --checkpoint <file> (pre-trained weights) or --from-scratch (random initialisation)', 'ERR_INVALID_ARG');
      }
      if (flags.augment) resolvePolicy(flags.augment);
      await checkEvalInputs(flags);
      const controller = new AbortController();
      const stop = abortOnSignals(controller, 'after the current step');
      const removeSigint = stop.remove;
      let display: ProgressDisplay | null = null;
      try {
        const onProgress = (p: FinetuneProgress) => {
          if (p.stage === 'train') {
            display ??= new ProgressDisplay(p.maxSteps, '{bar} {value}/{total} steps | loss {loss} | ETA {eta_formatted}');
            display.update({ value: p.step, fields: { loss: p.loss.toFixed(4) } });
          } else {
            process.stderr.write(`\nepoch ${p.epoch.toFixed(2)} (step ${p.step}): val ${p.valMetric.toFixed(4)}, best ${p.best?.toFixed(4)}\n`);
          }
        };
        const result = await finetune({
          checkpoint: flags.checkpoint,
          fromScratch: flags.fromScratch,
          arch: flags.arch,
          stem: flags.stem,
          store: flags.data,
          outDir: flags.out,
          fraction: flags.fraction,
          augment: flags.augment,
          lr: flags.lr,
          weightDecay: flags.weightDecay,
          batchSize: flags.batchSize,
          epochs: flags.epochs,
          maxSteps: flags.maxSteps,
          evalEvery: flags.evalEvery,
          patience: flags.patience,
          metric: flags.metric,
          imageSize: flags.imageSize,
          device: flags.device,
          threads: flags.threads,
          seed: flags.seed,
          resume: flags.resume,
          onProgress,
          signal: controller.signal,
        });
        (display as ProgressDisplay | null)?.stop();
        if (flags.json) {
          process.stdout.write(JSON.stringify(result) + '\n');
        } else if (result.cancelled) {
          process.stdout.write(`stopped at step ${result.stepsCompleted}; resume with: imlm-native eval finetune --resume --out ${result.outDir}\n`);
        } else {
          process.stdout.write(
            `fine-tuned ${result.stepsCompleted} steps from ${result.initialisation}${result.stoppedEarly ? ' (stopped early)' : ''}; ` +
              `selected step ${result.best?.step} (val ${result.metric} ${result.best?.valMetric.toFixed(4)}); test ${result.metric} ${result.test?.value.toFixed(4)}\n` +
              `predictions: ${result.predictions}\nresults: ${result.results}\n`,
          );
        }
        if (result.cancelled) process.exitCode = stop.exitCode() ?? 130;
      } finally {
        (display as ProgressDisplay | null)?.stop();
        removeSigint();
      }
    });
}
