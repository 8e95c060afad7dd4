import type { Command } from 'commander';
import path from 'path';
import { promises as fs } from 'fs';
import { info } from '../info';
import { checkTrainConfig, resolveTrainConfig, type TrainConfigOverrides } from '../config/train-config';
import { ImlmError } from '../errors';
import { pretrain, runPaths } from '../train/pretrain';
import { syntheticSource } from '../train/trainer';
import { ProgressDisplay } from './progress';

interface TrainFlags {
  preset: string;
  config?: string;
  arch?: string;
  stem?: string;
  loss?: string;
  steps?: number;
  batchSize?: number;
  imageSize?: number;
  channels?: number;
  queueSize?: number;
  lr?: number;
  device: string;
  precision?: string;
  seed?: number;
  out?: string;
  resume?: boolean;
  checkpointEvery?: number;
  init?: string;
  json?: boolean;
}

const int = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n)) throw new ImlmError(`Expected an integer but received '${v}'`, 'ERR_INVALID_ARG');
  return n;
};
const num = (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new ImlmError(`Expected a number but received '${v}'`, 'ERR_INVALID_ARG');
  return n;
};

/** Settings for a run without data: small enough to finish in a few minutes on 2 CPU cores. */
const kSyntheticDefaults = { arch: 'resnet18', stem: 'small', imageSize: 32, batchSize: 32, queueSize: 4096, steps: 100 } as const;

async function configOverrides(flags: TrainFlags, synthetic: boolean): Promise<TrainConfigOverrides> {
  const fromFile: TrainConfigOverrides = flags.config ? JSON.parse(await fs.readFile(flags.config, 'utf8')) : {};
  const demo = synthetic && !flags.config ? kSyntheticDefaults : undefined;
  const o: Record<string, unknown> = { ...fromFile };
  const set = (key: string, value: unknown) => {
    if (value !== undefined) o[key] = value;
  };
  set('arch', flags.arch ?? demo?.arch);
  set('stem', flags.stem ?? demo?.stem);
  set('imageSize', flags.imageSize ?? demo?.imageSize);
  set('batchSize', flags.batchSize ?? demo?.batchSize);
  set('queueSize', flags.queueSize ?? demo?.queueSize);
  set('inChannels', flags.channels);
  set('device', flags.device);
  set('precision', flags.precision);
  set('seed', flags.seed);
  const steps = flags.steps ?? demo?.steps;
  set('totalSteps', steps);
  if (flags.loss) o.intermediate = { ...(o.intermediate as object), loss: flags.loss };
  if (flags.lr !== undefined) o.optimizer = { ...(o.optimizer as object), lr: flags.lr };
  return o as TrainConfigOverrides;
}

export function registerTrain(program: Command): void {
  program
    .command('train')
    .description('pre-train an encoder with MoCo v2 + an intermediate-layer loss (mse | barlow | none)')
    .option('--preset <name>', 'kaku2021 (the paper as published) or mocov2', 'kaku2021')
    .option('--config <file>', 'JSON file of configuration fields (docs/formats.md) over the preset')
    .option('--arch <name>', 'resnet18 | resnet34 | resnet50')
    .option('--stem <kind>', 'standard | small (3×3, no max-pool: for small images)')
    .option('--loss <name>', 'intermediate loss: mse | barlow | none')
    .option('--steps <n>', 'train until this many steps are completed', int)
    .option('--batch-size <n>', 'images per step', int)
    .option('--image-size <n>', 'side of the square views', int)
    .option('--channels <n>', 'input channels: 1 or 3', int)
    .option('--queue-size <n>', 'K, the number of negatives', int)
    .option('--lr <x>', 'base learning rate', num)
    .option('--device <d>', 'auto | cpu | cuda | cuda:N', 'auto')
    .option('--precision <p>', 'auto | fp32 | bf16 | fp16 (CUDA autocast)')
    .option('--seed <n>', 'seed of initialisation and data order', int)
    .option('--out <dir>', 'run folder (default runs/<date-time>)')
    .option('--resume', 'continue the run in --out from its last checkpoint')
    .option('--checkpoint-every <n>', 'steps between checkpoints', int)
    .option('--init <file>', 'torchvision-named backbone weights (safetensors) to start from')
    .option('--json', 'print the result as one JSON object')
    .action(async (flags: TrainFlags) => {
      // The datasets issue adds --data; until then every run uses the synthetic source.
      const synthetic = true;
      const runtime = await info();
      const cuda = flags.device === 'cpu' ? false : runtime.cuda.available;
      if (flags.resume && !flags.out) throw new ImlmError('--resume needs --out <run folder>', 'ERR_INVALID_ARG');
      const outDir = flags.out ?? path.join('runs', new Date().toISOString().replace(/[:.]/g, '-'));
      // A resumed run keeps its own configuration; only --steps may extend it.
      const config = flags.resume
        ? checkTrainConfig(JSON.parse(await fs.readFile(runPaths(outDir).config, 'utf8')))
        : resolveTrainConfig(flags.preset, await configOverrides(flags, synthetic), { cuda });
      const steps = flags.steps ?? config.totalSteps;
      const source = syntheticSource({ channels: config.inChannels, imageSize: config.imageSize, batchSize: config.batchSize, seed: config.seed });
      process.stderr.write(
        `imlm-native: no --data given: training on the built-in synthetic data set (${source.describe()}, ` +
          `${config.imageSize}×${config.imageSize}) — ${config.arch} (${config.stem} stem), loss ${config.intermediate.loss}, ` +
          `${steps} steps of ${config.batchSize}, device ${config.device === 'auto' ? (cuda ? 'cuda' : 'cpu') : config.device}; run folder ${outDir}\n`,
      );
      const display = new ProgressDisplay(steps, '{bar} {value}/{total} steps | loss {loss} | top1 {top1} | {ips} img/s | ETA {eta_formatted}');
      const controller = new AbortController();
      const onSigint = () => {
        process.stderr.write('\nimlm-native: stopping after the current step (Ctrl-C again to kill)…\n');
        controller.abort();
        process.off('SIGINT', onSigint);
      };
      process.on('SIGINT', onSigint);
      try {
        const result = await pretrain({
          config,
          source,
          outDir,
          steps,
          resume: flags.resume,
          checkpointEvery: flags.checkpointEvery,
          init: flags.init,
          signal: controller.signal,
          onProgress: (p) =>
            display.update({
              value: p.step,
              fields: { loss: p.loss.toFixed(4), top1: p.top1.toFixed(3), ips: p.imagesPerSecond.toFixed(1) },
            }),
        });
        display.stop();
        if (flags.json) {
          process.stdout.write(JSON.stringify({ outDir, ...result }) + '\n');
        } else {
          process.stdout.write(
            `${result.cancelled ? 'stopped' : 'finished'} at step ${result.stepsCompleted}` +
              (result.last ? `, loss ${result.last.loss.toFixed(4)}` : '') +
              `, ${result.imagesPerSecond.toFixed(1)} img/s\ncheckpoint: ${result.checkpoint}\n` +
              (result.backbone ? `backbone (torchvision names): ${result.backbone}\n` : `resume with: imlm-native train --resume --out ${outDir}\n`),
          );
        }
        if (result.cancelled) process.exitCode = 130;
      } finally {
        display.stop();
        process.off('SIGINT', onSigint);
      }
    });
}
