#!/usr/bin/env node
'use strict';
// npm run bench:eval — linear probing the way imlm-native does it (the frozen backbone runs once
// per split in eval mode, the head trains on cached features) against the reference's way (the
// frozen backbone runs again for every training batch of every epoch, and over the validation
// set), with the same head optimiser (Adam, same seed, same batch order). Both run in eval mode,
// so they must reach the same head: the script checks it and prints the time ratio.
//
//   node scripts/bench/eval.js [--train 1000] [--val 500] [--epochs 10] [--batch 64] [--json]
//
// Data: a subset of the Fashion-MNIST demo store (28×28 grayscale), or synthetic images when
// Fashion-MNIST is not installed. Network: ResNet-18 with the small stem, after a few MoCo steps.

const os = require('os');
const path = require('path');
const { arg, flag } = require('./args');

const root = path.resolve(__dirname, '../..');
const api = require(path.join(root, 'dist'));
const { native } = require(path.join(root, 'dist', 'native'));
const { chooseTrainData, resolveRunConfig } = require(path.join(root, 'dist', 'train', 'train-run'));
const { demoOverlay } = require(path.join(root, 'dist', 'config', 'train-config'));
const { demoStoreInstalling } = require(path.join(root, 'dist', 'cli', 'demo-store'));
const { loadSplit } = require(path.join(root, 'dist', 'data', 'store'));

const o = {
  train: Number(arg('train', '1000')),
  val: Number(arg('val', '500')),
  epochs: Number(arg('epochs', '10')),
  batch: Number(arg('batch', '64')),
  device: arg('device', 'cpu'),
  json: flag('json'),
};

/** The first n images and labels of a split, copied out of the memory-mapped store. */
async function head(store, split, n) {
  const s = await loadSplit(store, split);
  const [, c, h, w] = s.images.shape;
  const count = Math.min(n, s.images.shape[0]);
  const images = api.tensor((s.images.toTypedArray()).slice(0, count * c * h * w), [count, c, h, w]);
  const labels = api.tensor((s.labels.toTypedArray()).slice(0, count), [count]);
  for (const t of [s.images, s.labels, s.ids]) t.dispose();
  return { images, labels, classes: s.manifest.classes.length, size: h, what: `Fashion-MNIST ${split} (first ${count})` };
}

function synthetic(n, seed) {
  const size = 28;
  const data = new Uint8Array(n * size * size);
  const labels = new BigInt64Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    const c = i % 10;
    labels[i] = BigInt(c);
    for (let p = 0; p < size * size; p++) {
      x = (x * 1103515245 + 12345) % 2147483648;
      data[i * size * size + p] = (x % 64) + (((p + c * 7) % 10) < 3 ? 150 : 0);
    }
  }
  return { images: api.tensor(data, [n, 1, size, size]), labels: api.tensor(labels, [n]), classes: 10, size, what: `synthetic (${n})` };
}

const seconds = (start) => Number(process.hrtime.bigint() - start) / 1e9;

async function main() {
  // The demo store (installed as the command line installs it), else synthetic images.
  const data = await chooseTrainData({ demoStore: demoStoreInstalling, log: (m) => process.stderr.write(`bench:eval: ${m}\n`) });
  const store = data.kind === 'store' ? data.store : null;
  const train = store ? await head(store, 'train', o.train) : synthetic(o.train, 1);
  const val = store ? await head(store, 'val', o.val) : synthetic(o.val, 2);
  const dir = require('fs').mkdtempSync(path.join(os.tmpdir(), 'imlm-bench-eval-'));
  const checkpoint = path.join(dir, 'last.safetensors');
  // The demo run's network (lib/config/train-config.ts demoOverlay) with a short queue for a few
  // steps; cuda: false keeps fp32 on every device, as before.
  const config = resolveRunConfig({ overlay: demoOverlay, imageSize: train.size, inChannels: 1, settings: { queueSize: 256, device: o.device }, cuda: false });
  const trainer = await api.Trainer.create(config);
  await trainer.run(api.tensorSource(train.images, { batchSize: 32, imageSize: train.size, prefetch: 0 }), { steps: 5 });
  await trainer.save(checkpoint);

  // Warm-up (thread pool, oneDNN primitives) so neither way pays it inside its timing.
  const warm = await native().extractFeatures({ checkpoint, images: val.images, embedding: false, device: o.device, batchSize: o.batch, imageSize: 0, threads: 0 });
  warm.blocks.forEach((t) => t.dispose());

  const probe = { task: 'multiclass', metric: 'accuracy', numClasses: train.classes, method: 'adam', sweep: [{ lr: 1e-2, weightDecay: 0 }], epochs: o.epochs, batchSize: o.batch, standardize: false, seed: 0, device: o.device, maxIterations: 200, threads: 0 };

  // imlm-native: features once per split (eval mode), the head on the cached features.
  let start = process.hrtime.bigint();
  const trainFeatures = await native().extractFeatures({ checkpoint, images: train.images, embedding: false, device: o.device, batchSize: o.batch, imageSize: 0, threads: 0 });
  const valFeatures = await native().extractFeatures({ checkpoint, images: val.images, embedding: false, device: o.device, batchSize: o.batch, imageSize: 0, threads: 0 });
  const featureSeconds = seconds(start);
  const cached = await native().fitLinearProbe({ ...probe, trainFeatures: trainFeatures.blocks[3], trainLabels: train.labels, valFeatures: valFeatures.blocks[3], valLabels: val.labels });
  const cachedSeconds = seconds(start);

  // The reference's way: the backbone runs for every batch of every epoch and over val per sweep point.
  start = process.hrtime.bigint();
  const reference = await native().fitLinearProbeThroughBackbone({ ...probe, checkpoint, block: 4, trainImages: train.images, trainLabels: train.labels, valImages: val.images, valLabels: val.labels, imageSize: 0, featureBatchSize: o.batch });
  const referenceSeconds = seconds(start);

  const a = cached.weight.toTypedArray();
  const b = reference.weight.toTypedArray();
  let maxWeightDiff = 0;
  let maxWeight = 0;
  for (let i = 0; i < a.length; i++) {
    maxWeightDiff = Math.max(maxWeightDiff, Math.abs(a[i] - b[i]));
    maxWeight = Math.max(maxWeight, Math.abs(a[i]));
  }
  const row = {
    cachedSeconds,
    featureSeconds,
    referenceSeconds,
    ratio: referenceSeconds / cachedSeconds,
    cachedValAccuracy: cached.points[0].valMetric,
    referenceValAccuracy: reference.points[0].valMetric,
    maxWeightDiff,
    maxWeight,
  };
  const sameResult = Math.abs(row.cachedValAccuracy - row.referenceValAccuracy) <= 1 / o.val + 1e-12 && maxWeightDiff <= 1e-3 * Math.max(1, maxWeight);
  const cores = os.availableParallelism ? os.availableParallelism() : os.cpus().length;
  const setup =
    `${train.what} for training, ${val.what} for validation, ResNet-18 small stem (${train.size}², block 4: 512-d), ` +
    `Adam lr 1e-2, batch ${o.batch}, ${o.epochs} epochs, device ${o.device}, ${cores} cores`;
  require('fs').rmSync(dir, { recursive: true, force: true });
  if (o.json) {
    console.log(JSON.stringify({ setup, sameResult, ...row }));
  } else {
    console.log(setup);
    console.log('| way | seconds | val accuracy |');
    console.log('|---|---|---|');
    console.log(`| imlm-native: features once (${featureSeconds.toFixed(1)} s) + head on cached features | ${cachedSeconds.toFixed(1)} | ${row.cachedValAccuracy.toFixed(4)} |`);
    console.log(`| reference: backbone forward every batch of every epoch | ${referenceSeconds.toFixed(1)} | ${row.referenceValAccuracy.toFixed(4)} |`);
    console.log(`ratio ${row.ratio.toFixed(1)}×; same head: max |ΔW| ${maxWeightDiff.toExponential(2)} (max |W| ${maxWeight.toFixed(3)}) — ${sameResult ? 'yes' : 'NO'}`);
  }
  if (!sameResult) process.exitCode = 1;
}

main().catch((e) => {
  console.error(e.message || e);
  process.exit(1);
});
