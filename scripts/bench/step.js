#!/usr/bin/env node
'use strict';
// npm run bench:step — images/s of one MoCo training step, ours against the Python reference
// (scripts/reference/bench_step.py), same configuration, same machine, same LibTorch threads.
// Both sides time only the step: their input batches are generated before the clock starts.
//
//   node scripts/bench/step.js [--arch resnet18] [--stem small] [--size 32] [--batch 32]
//        [--loss mse|barlow|none|all] [--steps 10] [--warmup 2] [--device cpu] [--precision fp32]
//        [--source fixed|store] [--json]
//
// --source store: ours trains end to end from a memory-mapped store shard of uint8 images
// (gathered on the host into pinned memory, copied on a side stream, both views augmented on
// the device with 'mocov2', prefetched), against the reference's step alone on pre-staged
// batches — a conservative ratio (the reference's own data pipeline is not timed).
// On CUDA every row also gives both sides' peak device memory (the caching allocator's
// statistics) and a third reference run "as published": fp32, NCHW.

const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');
const { arg, flag } = require('./args');
const { mappedImages } = require('./store-shard');
const { findTorchPython } = require('./python');

const root = path.resolve(__dirname, '../..');
const api = require(path.join(root, 'dist'));
const { resolveTrainConfig } = require(path.join(root, 'dist/config/train-config'));
const { Trainer, fixedBatchesSource, tensorSource } = require(path.join(root, 'dist/train/trainer'));
const { native } = require(path.join(root, 'dist/native'));


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
  source: arg('source', 'fixed'),
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

/** cuda:N's peak allocated bytes since the last call (null on the CPU). */
function devicePeak() {
  if (!opts.device.startsWith('cuda')) return null;
  const index = Number(opts.device.split(':')[1] || 0);
  const peaks = native().deviceMemoryPeaks(index, true);
  return peaks ? peaks.allocatedBytes : null;
}

/** A memory-mapped store shard of 4 batches of random uint8 images, and a source over it. */
async function storeSource(config) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'imlm-bench-step-'));
  const shape = [4 * config.batchSize, config.inChannels, config.imageSize, config.imageSize];
  const images = await mappedImages(api, dir, 'shard.safetensors', shape, (bytes) => {
    for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256);
  });
  const source = tensorSource(images, {
    batchSize: config.batchSize,
    imageSize: config.imageSize,
    policy: 'mocov2',
    prefetch: 2,
    augmentDevice: opts.device,
  });
  return { source, dispose: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

async function ours(config) {
  const trainer = await Trainer.create(config);
  if (opts.source === 'store') {
    const store = await storeSource(config);
    try {
      await trainer.run(store.source, { steps: opts.warmup });
      devicePeak();
      const summary = await trainer.run(store.source, { steps: opts.steps });
      return { imagesPerSecond: summary.imagesPerSecond, secondsPerStep: summary.seconds / opts.steps, peakBytes: devicePeak() };
    } finally {
      store.dispose();
    }
  }
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
  devicePeak();
  const summary = await trainer.run(source, { steps: opts.steps });
  const peakBytes = devicePeak();
  for (const t of new Set([q, k, qHost, kHost])) t.dispose();
  return { imagesPerSecond: summary.imagesPerSecond, secondsPerStep: summary.seconds / opts.steps, peakBytes };
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
  return {
    imagesPerSecond: out.images_per_second,
    secondsPerStep: out.seconds_per_step,
    threads: out.threads,
    torch: out.torch,
    peakBytes: out.peak_allocated_bytes ?? null,
  };
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
    // As its authors run it: fp32, NCHW (on the CPU that is the PyTorch-defaults row already).
    const onCuda = opts.device.startsWith('cuda');
    const published = onCuda ? reference({ ...config, channelsLast: false, precision: 'fp32' }, py.python, null) : null;
    rows.push({
      loss,
      source: opts.source,
      ours: a.imagesPerSecond,
      referenceSame: same.imagesPerSecond,
      referenceDefault: plain.imagesPerSecond,
      referenceDefaultThreads: plain.threads,
      referencePublished: published ? published.imagesPerSecond : null,
      ratioSame: a.imagesPerSecond / same.imagesPerSecond,
      ratioDefault: a.imagesPerSecond / plain.imagesPerSecond,
      ratioPublished: published ? a.imagesPerSecond / published.imagesPerSecond : null,
      oursPeakBytes: a.peakBytes,
      referencePeakBytes: same.peakBytes,
    });
  }
  const setup = `${opts.arch} (${opts.stem} stem) ${opts.size}×${opts.size}, batch ${opts.batch}, K 4096, ${opts.device} ${opts.precision}, ` +
    `${opts.source === 'store' ? 'ours end to end from a store (augmented on the device)' : 'fixed batches'}; ` +
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
  const gib = (b) => (b === null || b === undefined ? 'n/a' : `${(b / 2 ** 30).toFixed(2)} GiB`);
  for (const r of rows.filter((x) => x.referencePublished !== null)) {
    console.log(`${r.loss}: reference as published (fp32, NCHW) ${r.referencePublished.toFixed(1)} img/s, ours ${r.ratioPublished.toFixed(2)}×; ` +
      `peak device memory ours ${gib(r.oursPeakBytes)}, reference ${gib(r.referencePeakBytes)}`);
  }
}

main().catch((e) => {
  console.error(e.message || e);
  process.exit(1);
});
