import type { Command } from 'commander';
import path from 'path';
import { promises as fs } from 'fs';
import { info } from '../info';
import { presets, resolveTrainConfig, type TrainConfigOverrides } from '../config/train-config';
import { ImlmError } from '../errors';
import { assertFreshRunFolder, assertResumableRunFolder, pretrain, readRunConfig, readRunJson } from '../train/pretrain';
import { augmentDeviceFor, syntheticSource, tensorSource } from '../train/trainer';
import { ensureDemoStore } from '../data/demo';
import { loadSplit, readManifest, type Manifest } from '../data/store';
import { writeJsonAtomic } from '../atomic-write';
import { resolvePolicy } from '../data/policies';
import { abortOnSignals, checkInputFile, checkOutputFolder, choice, intFlag, numFlag } from './flags';
import { ProgressDisplay } from './progress';
import { readDistEnv, type DistEnv } from '../distributed/env';
import { launchLocal } from '../distributed/launcher';
import { checkDistBackend, checkNprocPerNode, withoutLauncherFlag } from './dist-flags';
import { ARCHS, archChoicesText } from '../config/archs';

interface TrainFlags {
  data?: string;
  augment: string;
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
  if (!flags.data && !flags.resume) await ensureDemoStore((m) => process.stderr.write(`imlm-native: ${m}\n`));
  const result = await launchLocal({ nprocPerNode: n, args: rankArguments(process.argv.slice(1), outDir, flags.out !== undefined) });
  return result.exitCode;
}


/** Settings for a run without --data: small enough to finish in a few minutes on 2 CPU cores. */
const kDemoDefaults = { arch: 'resnet18', stem: 'small', imageSize: 32, batchSize: 32, queueSize: 4096, steps: 100 } as const;

/** What a run trains on, recorded in the run folder so --resume finds it again. */
interface DataChoice {
  kind: 'store' | 'synthetic';
  store?: string;
  demo: boolean;
  /** Augmentation policy name (lib/data/policies.ts). */
  augment: string;
}

/** A run folder's data.json, checked field by field (ERR_FORMAT naming the file and the field). */
async function readDataChoice(outDir: string): Promise<DataChoice> {
  const file = path.join(outDir, 'data.json');
  const d = (await readRunJson(file, 'the record of the training data')) as Record<string, unknown>;
  const bad = (field: string, expected: string, value: unknown) =>
    new ImlmError(`${file}: Expected ${expected} for ${field} but received ${JSON.stringify(value)}; restore the run's own data.json or start a new run in another folder`, 'ERR_FORMAT');
  if (typeof d !== 'object' || d === null || Array.isArray(d)) throw bad('the file', 'a JSON object', d);
  if (d.kind !== 'store' && d.kind !== 'synthetic') throw bad('kind', "'store' or 'synthetic'", d.kind);
  if (d.kind === 'store' && (typeof d.store !== 'string' || d.store === '')) throw bad('store', 'the path of a prepared data set', d.store);
  if (typeof d.demo !== 'boolean') throw bad('demo', 'true or false', d.demo);
  if (typeof d.augment !== 'string' || d.augment === '') throw bad('augment', 'an augmentation policy name or file', d.augment);
  return d as unknown as DataChoice;
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

/**
 * Everything a train command line can get wrong that needs no training: the flags, the input
 * files, the run folder (fresh: not a file, no checkpoint, creatable; resumed: a run with a valid
 * config.json and data.json). Runs before anything is written.
 */
async function checkTrainInputs(flags: TrainFlags, outDir: string): Promise<void> {
  checkDistBackend(flags.distBackend);
  if (flags.resume && !flags.out) throw new ImlmError('--resume needs --out <run folder>', 'ERR_INVALID_ARG');
  if (flags.resume) {
    assertResumableRunFolder(outDir);
    await readRunConfig(outDir);
    await readDataChoice(outDir);
    return;
  }
  if (!presets[flags.preset]) {
    throw new ImlmError(`Expected a preset ${Object.keys(presets).map((p) => `'${p}'`).join(' or ')} but received '${flags.preset}'`, 'ERR_INVALID_ARG');
  }
  checkOutputFolder('--out', outDir);
  assertFreshRunFolder(outDir);
  if (flags.config) await readConfigFile(flags.config);
  if (flags.init) checkInputFile('--init', flags.init);
  if (flags.data) await readManifest(flags.data);
}

async function chooseData(flags: TrainFlags, outDir: string): Promise<DataChoice> {
  if (flags.resume) return readDataChoice(outDir);
  if (flags.data) return { kind: 'store', store: path.resolve(flags.data), demo: false, augment: flags.augment };
  const demo = await ensureDemoStore((m) => process.stderr.write(`imlm-native: ${m}\n`));
  return demo ? { kind: 'store', store: demo, demo: true, augment: flags.augment } : { kind: 'synthetic', demo: true, augment: flags.augment };
}

async function configOverrides(flags: TrainFlags, data: DataChoice, manifest: Manifest | null): Promise<TrainConfigOverrides> {
  const fromFile: TrainConfigOverrides = flags.config ? await readConfigFile(flags.config) : {};
  const demo = data.demo && !flags.config ? { ...kDemoDefaults, imageSize: manifest ? manifest.imageSize[0] : kDemoDefaults.imageSize } : undefined;
  const o: Record<string, unknown> = { ...fromFile };
  const set = (key: string, value: unknown) => {
    if (value !== undefined) o[key] = value;
  };
  set('arch', flags.arch ?? demo?.arch);
  set('stem', flags.stem ?? demo?.stem);
  set('imageSize', flags.imageSize ?? demo?.imageSize);
  set('batchSize', flags.batchSize ?? demo?.batchSize);
  set('queueSize', flags.queueSize ?? demo?.queueSize);
  set('inChannels', flags.channels ?? manifest?.channels);
  if (manifest && !demo && flags.imageSize === undefined && fromFile.imageSize === undefined) set('imageSize', manifest.imageSize[0]);
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
    .option('--data <store>', 'a prepared data set (imlm-native prepare); default: the Fashion-MNIST demo')
    .option('--augment <policy>', 'augmentation policy: mocov2, kaku2021-cxr, kaku2021-dr, kaku2021-bch, none, or a policy file (.json/.yaml, docs/formats.md)', 'mocov2')
    .option('--preset <name>', 'kaku2021 (the paper as published) or mocov2', 'kaku2021')
    .option('--config <file>', 'JSON file of configuration fields (docs/formats.md) over the preset')
    .option('--arch <name>', archChoicesText, choice('--arch', ARCHS))
    .option('--stem <kind>', 'standard | small (3×3, no max-pool: for small images)')
    .option('--loss <name>', 'intermediate loss: mse | barlow | none')
    .option('--steps <n>', 'train until this many steps are completed', intFlag('--steps', 1))
    .option('--batch-size <n>', 'images per step', intFlag('--batch-size', 2))
    .option('--image-size <n>', 'side of the square views', intFlag('--image-size', 8))
    .option('--channels <n>', 'input channels: 1 or 3', (v: string) => Number(choice('--channels', ['1', '3'])(v)))
    .option('--queue-size <n>', 'K, the number of negatives', intFlag('--queue-size', 1))
    .option('--lr <x>', 'base learning rate', numFlag('--lr', 0, { exclusiveMin: true }))
    .option('--device <d>', 'auto | cpu | cuda | cuda:N', 'auto')
    .option('--precision <p>', 'auto | fp32 | bf16 | fp16 (CUDA autocast)')
    .option('--seed <n>', 'seed of initialisation and data order', intFlag('--seed', 0))
    .option('--out <dir>', 'run folder (default runs/<date-time>)')
    .option('--resume', 'continue the run in --out from its last checkpoint')
    .option('--checkpoint-every <n>', 'steps between checkpoints (an integer >= 1)', intFlag('--checkpoint-every', 1))
    .option('--init <file>', 'torchvision-named backbone weights (safetensors) to start from')
    .option('--json', 'print the result as one JSON object')
    .option('--nproc-per-node <n>', 'start n data-parallel ranks on this machine (docs/distributed.md); under torchrun or srun leave it out', intFlag('--nproc-per-node', 1))
    .option('--dist-backend <name>', 'c10d backend across ranks: auto (nccl on CUDA, gloo on CPU) | gloo | nccl', 'auto')
    .option('--no-shuffle-bn', "across ranks: each rank's key encoder normalises its own batch (default: MoCo's shuffle-BN)")
    .option('--sync-bn', "across ranks: SyncBatchNorm — every batch norm normalises over the global batch, instead of shuffle-BN")
    .option('--dist-timeout <s>', 'seconds the rendezvous and each collective may take before the run fails', numFlag('--dist-timeout', 0, { exclusiveMin: true }))
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
      const runtime = await info();
      const cuda = flags.device === 'cpu' ? false : runtime.cuda.available;
      // A policy file is read once: checked here before any work, then handed to the source.
      const checkedPolicy = flags.resume ? undefined : resolvePolicy(flags.augment);
      const data = await chooseData(flags, outDir);
      const policy = checkedPolicy ?? resolvePolicy(data.augment);
      const manifest = data.kind === 'store' ? await readManifest(data.store!) : null;
      // A resumed run keeps its own configuration; only --steps may extend it.
      const config = flags.resume
        ? await readRunConfig(outDir)
        : resolveTrainConfig(flags.preset, await configOverrides(flags, data, manifest), { cuda });
      if (manifest && manifest.channels !== config.inChannels) {
        throw new ImlmError(
          `the data set ${data.store} has ${manifest.channels} channel(s) but the configuration expects inChannels ${config.inChannels}; pass --channels ${manifest.channels} or another --data`,
          'ERR_INVALID_ARG',
        );
      }
      const steps = flags.steps ?? config.totalSteps;
      if (dist && config.batchSize % dist.worldSize !== 0) {
        throw new ImlmError(
          `the batch size ${config.batchSize} is the global batch and must be divisible by the ${dist.worldSize} ranks` +
            (flags.resume ? ' (this run was resumed with another number of ranks: use one that divides it)' : ''),
          'ERR_INVALID_ARG',
        );
      }
      const shard = dist ? { rank: dist.rank, worldSize: dist.worldSize } : undefined;
      let source;
      let what: string;
      if (data.kind === 'store') {
        const split = await loadSplit(data.store!, 'train');
        if (split.manifest.channels !== config.inChannels) {
          throw new ImlmError(`the data set has ${split.manifest.channels} channel(s) but the configuration expects inChannels ${config.inChannels}`, 'ERR_INVALID_ARG');
        }
        source = tensorSource(split.images, {
          batchSize: config.batchSize, imageSize: config.imageSize, seed: config.seed, policy, shard,
          augmentDevice: augmentDeviceFor(config.device, cuda, dist?.localRank),
        });
        for (const t of [split.images, split.labels, split.ids]) t.dispose(); // the source keeps its own reference
        what = data.demo
          ? `no --data given: training on the demo data set, Fashion-MNIST (${data.store}, train split, ${split.manifest.splits.train!.count} images)`
          : `training on ${data.store} (train split, ${split.manifest.splits.train!.count} images)`;
      } else {
        source = syntheticSource({ channels: config.inChannels, imageSize: config.imageSize, batchSize: config.batchSize, seed: config.seed, policy, shard });
        what = `no --data given and Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist): training on the built-in synthetic data set (${source.describe()})`;
      }
      if (dist) {
        what += ` — rank ${dist.rank} of ${dist.worldSize} (${dist.launcher}, master ${dist.masterAddr}:${dist.masterPort}), ${config.batchSize / dist.worldSize} images per rank`;
      }
      if (lead) process.stderr.write(
        `imlm-native: ${what} — ${config.arch} (${config.stem} stem), ${config.imageSize}×${config.imageSize}, augmentation ${data.augment}, loss ${config.intermediate.loss}, ` +
          `${steps} steps of ${config.batchSize}, device ${config.device === 'auto' ? (cuda ? 'cuda' : 'cpu') : config.device}; run folder ${outDir}\n`,
      );
      if (!flags.resume) {
        assertFreshRunFolder(outDir); // before data.json is written over another run's
        await fs.mkdir(outDir, { recursive: true });
        if (lead) await writeJsonAtomic(path.join(outDir, 'data.json'), data);
      }
      const display = new ProgressDisplay(steps, '{bar} {value}/{total} steps | loss {loss} | top1 {top1} | {ips} img/s | ETA {eta_formatted}');
      const controller = new AbortController();
      // Ctrl-C, SIGTERM (SLURM, Kubernetes, `timeout`) and SIGHUP: finish the step, save, exit 128+N.
      const stop = abortOnSignals(controller, 'after the current step');
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
          onNotice: (m) => process.stderr.write(`imlm-native: ${m}\n`),
          dist: dist
            ? {
                rank: dist.rank,
                worldSize: dist.worldSize,
                localRank: dist.localRank,
                masterAddr: dist.masterAddr,
                masterPort: dist.masterPort,
                backend: flags.distBackend,
                shuffleBn: flags.shuffleBn,
                syncBn: flags.syncBn === true,
                timeoutSeconds: flags.distTimeout,
                forceGroup: dist.worldSize === 1,
              }
            : undefined,
          onProgress: (p) =>
            display.update({
              value: p.step,
              fields: { loss: p.loss.toFixed(4), top1: p.top1.toFixed(3), ips: p.imagesPerSecond.toFixed(1) },
            }),
        });
        display.stop();
        if (!lead) {
          // Only rank 0 reports; the others end quietly.
        } else if (flags.json) {
          process.stdout.write(JSON.stringify({ outDir, ...result }) + '\n');
        } else {
          process.stdout.write(
            `${result.cancelled ? 'stopped' : 'finished'} at step ${result.stepsCompleted}` +
              (result.last ? `, loss ${result.last.loss.toFixed(4)}` : '') +
              `, ${result.imagesPerSecond.toFixed(1)} img/s\ncheckpoint: ${result.checkpoint}\n` +
              (result.backbone ? `backbone (torchvision names): ${result.backbone}\n` : `resume with: imlm-native train --resume --out ${outDir}\n`),
          );
        }
        if (result.cancelled) process.exitCode = stop.exitCode() ?? 130;
      } finally {
        display.stop();
        stop.remove();
      }
    });
}
