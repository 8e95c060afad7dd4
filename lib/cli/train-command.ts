import type { Command } from 'commander';
import path from 'path';
import { existsSync, promises as fs } from 'fs';
import { INIT_CHANNELS, INTERMEDIATE_LOSSES, kRunDefaults, presets, type InitChannels, type TrainConfigOverrides } from '../config/train-config';
import { defaultText, presetDefaultText } from './default-text';
import { policies } from '../data/policies';
import { kDistDefaults } from '../distributed/dist-options';
import { ImlmError } from '../errors';
import { pretrain } from '../train/pretrain';
import { checkNewTrainRun, checkResumableTrainRun, describeTrainRun, discardUnstartedRun, knnMonitorFor, prepareTrainRun, type TrainRun, type TrainSettings } from '../train/train-run';
import { cpuHoursWarning, formatDuration, timeRunSteps } from '../train/estimate';
import { demoStoreInstalling } from './demo-store';
import { abortOnSignals, checkInputFile, checkOutputFolder, choice, configNumber, intFlag, numFlag } from './flags';
import { ProgressDisplay } from './progress';
import { readDistEnv, type DistEnv } from '../distributed/env';
import { launchLocal } from '../distributed/launcher';
import { checkDistBackend, checkNprocPerNode, rankOptions, withoutLauncherFlag } from './dist-flags';
import { archChoicesText } from '../config/archs';
import { writeLossPlot } from '../run-logs/loss-plot';

/** The configuration flags as commander parses them: numbers parsed, words as typed (the schema checks both). */
type ConfigFlags = Omit<TrainSettings, 'arch' | 'stem' | 'loss' | 'precision'> & { arch?: string; stem?: string; loss?: string; precision?: string };

interface TrainFlags extends ConfigFlags {
  data?: string;
  augment?: string;
  preset?: string;
  config?: string;
  device: string;
  out?: string;
  resume?: boolean;
  checkpointEvery?: number;
  monitorEvery?: number;
  monitorSize?: number;
  init?: string;
  initChannels?: InitChannels;
  printConfig?: boolean;
  json?: boolean;
  nprocPerNode?: number;
  distBackend: 'auto' | 'gloo' | 'nccl';
  shuffleBn: boolean;
  syncBn?: boolean;
  distTimeout?: number;
}

/** The arguments this process was started with, minus the launcher's own flag. */
function rankArguments(argv: string[], outDir: string, hasOut: boolean): string[] {
  const args = withoutLauncherFlag(argv);
  // Every rank must use the same run folder: fix the default here, once.
  return hasOut ? args : [...args, '--out', outDir];
}

/**
 * `--nproc-per-node N`: become the launcher of N ranks of this very command (lib/distributed/launcher.ts).
 * Returns the exit code.
 */
async function launchRanks(flags: TrainFlags): Promise<number> {
  const n = flags.nprocPerNode!;
  checkNprocPerNode(n);
  const outDir = flags.out ?? path.join('runs', new Date().toISOString().replace(/[:.]/g, '-'));
  // The same checks as each rank's, once, before any rank starts or anything is written.
  await checkTrainInputs(flags, outDir);
  // Without --data every rank trains on the demo store: prepared here, once, before the ranks
  // start — N ranks preparing it at the same time would race on the same folder.
  if (!flags.data && !flags.resume) await demoStoreInstalling(notice);
  const result = await launchLocal({ nprocPerNode: n, args: rankArguments(process.argv.slice(1), outDir, flags.out !== undefined) });
  return result.exitCode;
}


/** The --config file: a JSON object (ERR_IO when unreadable, ERR_FORMAT when not a JSON object). */
async function readConfigFile(file: string): Promise<TrainConfigOverrides> {
  checkInputFile('--config', file);
  let parsed: unknown;
  try {
    parsed = JSON.parse(await fs.readFile(file, 'utf8'));
  } catch (e) {
    throw new ImlmError(`--config ${file} is not valid JSON (${(e as Error).message}); expected a JSON object of configuration fields (docs/formats.md)`, 'ERR_FORMAT');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ImlmError(`--config ${file} holds ${Array.isArray(parsed) ? 'an array' : JSON.stringify(parsed)}; expected a JSON object of configuration fields (docs/formats.md)`, 'ERR_FORMAT');
  }
  return parsed as TrainConfigOverrides;
}

const notice = (m: string) => process.stderr.write(`imlm-native: ${m}\n`);

/**
 * Everything a train command line can get wrong that needs no training: the flags, the input
 * files, the run folder (fresh: not a file, no checkpoint, creatable; resumed: a run with a valid
 * config.json and data.json). Runs before anything is written.
 */
async function checkTrainInputs(flags: TrainFlags, outDir: string): Promise<void> {
  checkDistBackend(flags.distBackend);
  if (flags.resume && !flags.out) throw new ImlmError('--resume needs --out <run folder>', 'ERR_INVALID_ARG');
  if (flags.resume && flags.init) throw new ImlmError(`--init starts a new run from other weights; --resume ${outDir} continues from the run's own checkpoint: drop one of them`, 'ERR_INVALID_ARG');
  if (flags.printConfig && flags.resume) throw new ImlmError(`--print-config shows a new run's configuration; a resumed run's is ${path.join(outDir, 'config.json')}: drop --resume`, 'ERR_INVALID_ARG');
  if (flags.printConfig && flags.nprocPerNode !== undefined) throw new ImlmError('--print-config times one process; drop --nproc-per-node', 'ERR_INVALID_ARG');
  if (flags.initChannels && !flags.init) throw new ImlmError(`--init-channels ${flags.initChannels} says how to fit --init weights; pass --init <file> too, or drop it`, 'ERR_INVALID_ARG');
  if (flags.resume) return checkResumableTrainRun(outDir);
  checkOutputFolder('--out', outDir);
  const overrides = flags.config ? await readConfigFile(flags.config) : undefined;
  if (flags.init) checkInputFile('--init', flags.init);
  await checkNewTrainRun({ outDir, preset: flags.preset, data: flags.data, overrides, settings: trainSettings(flags) });
}

/** The flags that set configuration fields, as they were typed: their ranges and words are the configuration schema's to check. */
function trainSettings(flags: TrainFlags): TrainSettings {
  const { arch, stem, loss, precision, steps, batchSize, imageSize, channels, queueSize, lr, device, seed, threads } = flags;
  return { arch, stem, loss, precision, steps, batchSize, imageSize, channels, queueSize, lr, device, seed, threads } as TrainSettings;
}

/**
 * `--print-config`: the resolved configuration and a wall-time estimate from a few real steps on
 * the run's own data and network (lib/train/estimate.ts). Nothing is written to the run folder.
 */
async function printConfig(run: TrainRun, json: boolean): Promise<void> {
  notice(`${describeTrainRun(run)} — --print-config: timing a few steps, nothing is written`);
  const timing = await timeRunSteps(run.config, run.source, { totalSteps: run.steps });
  const estimate = { ...timing, estimatedText: formatDuration(timing.estimatedSeconds) };
  if (json) {
    process.stdout.write(JSON.stringify({ config: run.config, data: run.data, steps: run.steps, estimate }) + '\n');
    return;
  }
  process.stdout.write(
    `${JSON.stringify(run.config, null, 2)}\n` +
      `estimate: ${timing.timedSteps} steps timed after ${timing.warmupSteps} warm-up on ${timing.device}: ${timing.imagesPerSecond.toFixed(1)} images/s, ` +
      `${timing.secondsPerStep.toFixed(3)} s/step → ${run.steps} steps ≈ ${estimate.estimatedText} ` +
      '(training steps only: start-up, checkpoints and the kNN monitor not included)\n',
  );
}

export function registerTrain(program: Command): void {
  program
    .command('train')
    .description('pre-train an encoder with MoCo v2 + an intermediate-layer loss (mse | barlow | none)')
    .option('--data <store>', 'a prepared data set (imlm-native prepare) (default: the Fashion-MNIST demo, else a built-in synthetic set)')
    .option('--augment <policy>', `augmentation policy: ${Object.keys(policies).join(', ')}, or a policy file (.json/.yaml, docs/formats.md) ${defaultText(kRunDefaults.augment)}`)
    .option('--preset <name>', `${Object.keys(presets).join(' | ')} (kaku2021: the paper as published) ${defaultText(kRunDefaults.preset)}`)
    .option('--config <file>', 'JSON file of configuration fields (docs/formats.md) over the preset (default: none)')
    .option('--arch <name>', `${archChoicesText} ${presetDefaultText('arch')}`)
    .option('--stem <kind>', `standard | small (3×3, no max-pool: for small images) ${presetDefaultText('stem')}`)
    .option('--loss <name>', `intermediate loss: ${INTERMEDIATE_LOSSES.join(' | ')} ${presetDefaultText('intermediate.loss')}`)
    .option('--steps <n>', `train until this many steps are completed ${presetDefaultText('totalSteps')}`, intFlag('--steps', 1))
    .option('--batch-size <n>', `images per step ${presetDefaultText('batchSize')}`, configNumber('--batch-size', 'batchSize'))
    .option('--image-size <n>', `side of the square views ${presetDefaultText('imageSize', { also: "the store's side when --data is given" })}`, configNumber('--image-size', 'imageSize'))
    .option('--channels <n>', `input channels: 1 or 3 ${presetDefaultText('inChannels', { first: "the store's; without one" })}`, configNumber('--channels', 'inChannels'))
    .option('--queue-size <n>', `K, the number of negatives ${presetDefaultText('queueSize')}`, configNumber('--queue-size', 'queueSize'))
    .option('--lr <x>', `base learning rate ${presetDefaultText('optimizer.lr')}`, configNumber('--lr', 'optimizer.lr'))
    .option('--device <d>', `auto | cpu | cuda | cuda:N ${presetDefaultText('device')}`)
    .option('--precision <p>', 'auto | fp32 | bf16 | fp16 (CUDA autocast) (default: auto — bf16 on CUDA, fp32 on the CPU)')
    .option('--seed <n>', `seed of initialisation and data order ${presetDefaultText('seed')}`, configNumber('--seed', 'seed'))
    .option('--threads <n>', `CPU threads, 0 = one per core ${presetDefaultText('threads')}`, configNumber('--threads', 'threads'))
    .option('--out <dir>', 'run folder (default runs/<date-time>)')
    .option('--resume', 'continue the run in --out from its last checkpoint')
    .option('--checkpoint-every <n>', 'steps between checkpoints (an integer >= 1) (default: a tenth of the run, at least 1)', intFlag('--checkpoint-every', 1))
    .option('--monitor-every <n>', "kNN monitor of the representation every n steps, 0 to turn it off (default: five times a run, when the data has one label per image)", intFlag('--monitor-every', 0))
    .option('--monitor-size <n>', 'kNN monitor: train rows in the bank and val rows queried (default 256)', intFlag('--monitor-size', 1))
    .option('--init <file>', 'torchvision-named backbone weights (safetensors) to start from (default: none, a random initialisation)')
    .option(
      '--init-channels <mode>',
      `--init weights whose conv1 has other input channels than the network (e.g. ImageNet RGB into a grey model): ` +
        `${INIT_CHANNELS.join(' | ')} (sum: conv1 summed over its input channels) (default: ${kRunDefaults.initChannels})`,
      choice('--init-channels', INIT_CHANNELS),
    )
    .option('--print-config', 'print the resolved configuration (JSON) and a wall-time estimate from 3 timed steps after 1 warm-up, then exit: nothing is written to --out')
    .option('--json', 'print the result as one JSON object')
    .option('--nproc-per-node <n>', 'start n data-parallel ranks on this machine (docs/distributed.md); under torchrun or srun leave it out (default: one process, no ranks)', intFlag('--nproc-per-node', 1))
    .option('--dist-backend <name>', 'c10d backend across ranks: auto (nccl on CUDA, gloo on CPU) | gloo | nccl', 'auto')
    .option('--no-shuffle-bn', "across ranks: each rank's key encoder normalises its own batch (default: MoCo's shuffle-BN)")
    .option('--sync-bn', "across ranks: SyncBatchNorm — every batch norm normalises over the global batch, instead of shuffle-BN")
    .option('--dist-timeout <s>', `seconds the rendezvous and each collective may take before the run fails ${defaultText(kDistDefaults.timeoutSeconds)}`, numFlag('--dist-timeout', 0, { exclusiveMin: true }))
    .action(async (flags: TrainFlags) => {
      const distEnv: DistEnv | null = readDistEnv();
      if (flags.nprocPerNode !== undefined && !distEnv) {
        process.exitCode = await launchRanks(flags);
        return;
      }
      // One rank needs no process group, unless a backend is named (e.g. a 1-GPU NCCL check).
      const dist = distEnv && (distEnv.worldSize > 1 || flags.distBackend !== 'auto') ? distEnv : null;
      const lead = !dist || dist.rank === 0; // prints, and writes the run folder
      if (dist && !flags.out) {
        throw new ImlmError(`rank ${dist.rank} of ${dist.worldSize}: a distributed run needs --out <run folder> (the same on every rank)`, 'ERR_INVALID_ARG');
      }
      if (flags.resume && !flags.out) throw new ImlmError('--resume needs --out <run folder>', 'ERR_INVALID_ARG');
      const outDir = flags.out ?? path.join('runs', new Date().toISOString().replace(/[:.]/g, '-'));
      await checkTrainInputs(flags, outDir);
      const createdFolder = !existsSync(outDir);
      const shard = dist ? { rank: dist.rank, worldSize: dist.worldSize, localRank: dist.localRank } : undefined;
      const run = await prepareTrainRun({
        outDir,
        resume: flags.resume,
        data: flags.data,
        augment: flags.augment,
        preset: flags.preset,
        overrides: flags.config ? await readConfigFile(flags.config) : undefined,
        settings: trainSettings(flags),
        demoStore: demoStoreInstalling,
        shard,
        log: notice,
        dryRun: flags.printConfig,
      });
      if (flags.printConfig) {
        await printConfig(run, flags.json === true);
        return;
      }
      const { config, source, steps } = run;
      const rankText = dist
        ? ` — rank ${dist.rank} of ${dist.worldSize} (${dist.launcher}, master ${dist.masterAddr}:${dist.masterPort}), ${config.batchSize / dist.worldSize} images per rank`
        : '';
      if (lead) notice(describeTrainRun(run, rankText));
      // A new run that looks like hours on a CPU says so before it starts (a resumed one was started knowingly).
      const slow = lead && !run.resume ? cpuHoursWarning(config, steps, !run.cuda || config.device === 'cpu') : null;
      if (slow) notice(slow);
      const found = lead ? await knnMonitorFor(run, { every: flags.monitorEvery, size: flags.monitorSize }) : null;
      const monitor = found && 'measure' in found ? found : undefined;
      if (found) notice(monitor ? monitor.description : (found as { skipped: string }).skipped);
      const display = new ProgressDisplay(steps, `{bar} {value}/{total} steps | loss {loss} | top1 {top1}${monitor ? ' | kNN {knn}' : ''} | {ips} img/s | ETA {eta_formatted}`);
      let knn = '-';
      const controller = new AbortController();
      // Ctrl-C, SIGTERM (SLURM, Kubernetes, `timeout`) and SIGHUP: finish the step, save, exit 128+N.
      const stop = abortOnSignals(controller, 'after the current step');
      try {
        const result = await pretrain({
          config,
          source,
          outDir,
          steps,
          resume: run.resume,
          checkpointEvery: flags.checkpointEvery,
          init: flags.init,
          initChannels: flags.initChannels,
          signal: controller.signal,
          onNotice: notice,
          dist: dist
            ? { ...rankOptions(dist, flags), shuffleBn: flags.shuffleBn, syncBn: flags.syncBn === true, forceGroup: dist.worldSize === 1 }
            : undefined,
          monitor,
          onMonitor: (m) => {
            knn = m.top1.toFixed(3);
            display.update({ value: m.step, fields: { knn } });
          },
          onProgress: (p) =>
            display.update({
              value: p.step,
              fields: { loss: p.loss.toFixed(4), top1: p.top1.toFixed(3), ...(monitor ? { knn } : {}), ips: p.imagesPerSecond.toFixed(1) },
            }),
        }).catch(async (error: unknown) => {
          if (lead) await discardUnstartedRun(run, createdFolder); // e.g. --init weights that do not fit
          throw error;
        });
        display.stop();
        const lossPlot = lead ? await writeLossPlot(outDir) : null;
        if (!lead) {
          // Only rank 0 reports; the others end quietly.
        } else if (flags.json) {
          process.stdout.write(JSON.stringify({ outDir, ...result, lossPlot: lossPlot?.[1] ?? null }) + '\n');
        } else {
          process.stdout.write(
            `${result.cancelled ? 'stopped' : 'finished'} at step ${result.stepsCompleted}` +
              (result.last ? `, loss ${result.last.loss.toFixed(4)}` : '') +
              `, ${result.imagesPerSecond.toFixed(1)} img/s\ncheckpoint: ${result.checkpoint}\n` +
              (lossPlot ? `loss plot: ${lossPlot[1]}\n` : '') +
              (result.backbone ? `backbone (torchvision names): ${result.backbone}\n` : '') +
              (result.cancelled ? `resume with: imlm-native train --resume --out ${outDir}\n` : ''),
          );
        }
        if (result.cancelled) process.exitCode = stop.exitCode() ?? 130;
      } finally {
        display.stop();
        stop.remove();
        monitor?.dispose();
      }
    });
}
