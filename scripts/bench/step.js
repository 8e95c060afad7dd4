#!/usr/bin/env node
'use strict';
// npm run bench:step — images/s of one MoCo training step, ours against the Python reference
// (scripts/reference/bench_step.py), same configuration, same machine, same LibTorch threads.
// Both sides time only the step: their input batches are generated before the clock starts.
//
//   node scripts/bench/step.js [--arch resnet18] [--stem small] [--size 32] [--batch 32]
//        [--loss mse|barlow|none|all] [--steps 10] [--warmup 2] [--device cpu] [--json]

const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');
const { arg, flag } = require('./args');
const { findTorchPython } = require('./python');

const root = path.resolve(__dirname, '../..');
const api = require(path.join(root, 'dist'));
const { resolveTrainConfig } = require(path.join(root, 'dist/config/train-config'));
const { Trainer, fixedBatchesSource } = require(path.join(root, 'dist/train/trainer'));


const opts = {
  arch: arg('arch', 'resnet18'),
  stem: arg('stem', 'small'),
  size: Number(arg('size', '32')),
  batch: Number(arg('batch', '32')),
  loss: arg('loss', 'all'),
  steps: Number(arg('steps', '10')),
  warmup: Number(arg('warmup', '2')),
  device: arg('device', 'cpu'),
  precision: arg('precision', 'fp32'),
  json: flag('json'),
};

function configFor(loss) {
  return resolveTrainConfig(
    'kaku2021',
    {
      arch: opts.arch,
      stem: opts.stem,
      imageSize: opts.size,
      batchSize: opts.batch,
      queueSize: 4096,
      device: opts.device,
      precision: opts.precision,
      intermediate: { loss },
    },
    { cuda: opts.device.startsWith('cuda') },
  );
}

async function ours(config) {
  const trainer = await Trainer.create(config);
  const n = opts.warmup + opts.steps;
  const numel = n * config.batchSize * config.inChannels * config.imageSize * config.imageSize;
  const shape = [n, config.batchSize, config.inChannels, config.imageSize, config.imageSize];
  const random = () => Float32Array.from({ length: numel }, () => Math.random());
  const qHost = api.tensor(random(), shape);
  const kHost = api.tensor(random(), shape);
  // On a GPU the batches wait on the device, as the reference's do (bench_step.py): the step is
  // measured, not a pageable host→device copy (training overlaps that copy: device_staging).
  const onDevice = !opts.device.startsWith('cpu');
  const q = onDevice ? await qHost.to(opts.device) : qHost;
  const k = onDevice ? await kHost.to(opts.device) : kHost;
  const source = fixedBatchesSource(q, k, 0);
  await trainer.run(source, { steps: opts.warmup });
  const summary = await trainer.run(source, { steps: opts.steps });
  for (const t of new Set([q, k, qHost, kHost])) t.dispose();
  return { imagesPerSecond: summary.imagesPerSecond, secondsPerStep: summary.seconds / opts.steps };
}

/** The reference on the same configuration; `threads` null = PyTorch's own default. */
function reference(config, python, threads) {
  const file = path.join(os.tmpdir(), `imlm-bench-${process.pid}.json`);
  fs.writeFileSync(file, JSON.stringify(config));
  const args = [path.join(root, 'scripts/reference/bench_step.py'), '--config', file, '--steps', String(opts.steps), '--warmup', String(opts.warmup), '--device', opts.device, '--json'];
  if (threads) args.push('--threads', String(threads));
  const r = spawnSync(python, args, { encoding: 'utf8' });
  fs.rmSync(file, { force: true });
  if (r.status !== 0) throw new Error(`the Python reference failed:\n${r.stderr}`);
  const out = JSON.parse(r.stdout.trim().split('\n').pop());
  return { imagesPerSecond: out.images_per_second, secondsPerStep: out.seconds_per_step, threads: out.threads, torch: out.torch };
}

async function main() {
  const py = findTorchPython();
  if (!py) {
    console.error('bench:step needs a Python with PyTorch for the reference: apt-get install python3-torch python3-torchvision (or set IMLM_PYTHON)');
    process.exit(1);
  }
  const runtime = await api.info();
  const losses = opts.loss === 'all' ? ['none', 'mse', 'barlow'] : [opts.loss];
  // Our defaults: one intra-op thread per core, channels_last. The reference runs twice: with
  // the same settings (the fair kernel-for-kernel comparison) and as a user gets it by default
  // (PyTorch's default thread count, NCHW).
  const cores = os.availableParallelism ? os.availableParallelism() : os.cpus().length;
  const rows = [];
  for (const loss of losses) {
    const config = configFor(loss);
    const a = await ours(config);
    const same = reference(config, py.python, config.threads || cores);
    const plain = reference({ ...config, channelsLast: false }, py.python, null);
    rows.push({
      loss,
      ours: a.imagesPerSecond,
      referenceSame: same.imagesPerSecond,
      referenceDefault: plain.imagesPerSecond,
      referenceDefaultThreads: plain.threads,
      ratioSame: a.imagesPerSecond / same.imagesPerSecond,
      ratioDefault: a.imagesPerSecond / plain.imagesPerSecond,
    });
  }
  const setup = `${opts.arch} (${opts.stem} stem) ${opts.size}×${opts.size}, batch ${opts.batch}, K 4096, ${opts.device} ${opts.precision}; ` +
    `LibTorch ${runtime.libtorch.version} vs PyTorch ${py.torchVersion}; ours: ${cores} thread(s), channels_last; ${opts.steps} timed steps after ${opts.warmup} warm-up`;
  if (opts.json) {
    console.log(JSON.stringify({ setup, rows }));
    return;
  }
  console.log(setup);
  console.log('| loss | imlm-native img/s | reference, same settings | ratio | reference, PyTorch defaults | ratio |');
  console.log('|---|---|---|---|---|---|');
  for (const r of rows) {
    console.log(`| ${r.loss} | ${r.ours.toFixed(1)} | ${r.referenceSame.toFixed(1)} | ${r.ratioSame.toFixed(2)}× | ` +
      `${r.referenceDefault.toFixed(1)} (${r.referenceDefaultThreads} thread, NCHW) | ${r.ratioDefault.toFixed(2)}× |`);
  }
}

main().catch((e) => {
  console.error(e.message || e);
  process.exit(1);
});
