#!/usr/bin/env node
'use strict';
// npm run bench:data — images/s of imlm-native's data path (decoded once into memory, batched
// native kaku2021-bch augmentation of two views, crop 128²) against torchvision's equivalent
// pipeline (PIL decode of each PNG every time + the same transforms, DataLoader with 2 workers),
// on the same images.
//
//   node scripts/bench/data.js [--count 512] [--size 160] [--crop 128] [--batch 32] [--batches 20] [--json]

const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');
const { arg, flag } = require('./args');
const { findTorchPython } = require('./python');

const root = path.resolve(__dirname, '../..');
const api = require(path.join(root, 'dist'));

const o = {
  count: Number(arg('count', '512')),
  size: Number(arg('size', '160')),
  crop: Number(arg('crop', '128')),
  batch: Number(arg('batch', '32')),
  batches: Number(arg('batches', '20')),
  json: flag('json'),
};

function python(py, args) {
  const r = spawnSync(py, [path.join(root, 'scripts/reference/bench_data.py'), ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`the Python reference failed:\n${r.stderr}`);
  return r.stdout.trim();
}

async function main() {
  const py = findTorchPython();
  if (!py) throw new Error('bench:data needs PyTorch and torchvision for Python: apt-get install python3-torch python3-torchvision');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'imlm-bench-data-'));
  try {
    python(py.python, ['--make', dir, '--count', String(o.count), '--size', String(o.size)]);
    const { tensors } = await api.readSafetensors(path.join(dir, 'images.safetensors'), { mmap: true });
    const cores = os.availableParallelism ? os.availableParallelism() : os.cpus().length;
    const source = api.tensorSource(tensors.images, { batchSize: o.batch, imageSize: o.crop, policy: 'kaku2021-bch', prefetch: 0 });
    await source.measure(2, cores, false); // warm-up
    const ours = await source.measure(o.batches, cores, false);
    const reference = JSON.parse(python(py.python, ['--images', dir, '--crop', String(o.crop), '--batch', String(o.batch), '--workers', '2', '--batches', String(o.batches)]).split('\n').pop());
    const row = { ours: ours.imagesPerSecond, reference: reference.images_per_second, ratio: ours.imagesPerSecond / reference.images_per_second };
    const setup = `${o.count} RGB images ${o.size}², kaku2021-bch two views at ${o.crop}², batch ${o.batch}, ${o.batches} batches; ` +
      `ours: decoded once, ${cores} intra-op threads; reference: PIL + torchvision ${py.torchVersion}, DataLoader with 2 workers`;
    if (o.json) {
      console.log(JSON.stringify({ setup, ...row }));
      return;
    }
    console.log(setup);
    console.log('| imlm-native img/s | torchvision pipeline img/s | ratio |');
    console.log('|---|---|---|');
    console.log(`| ${row.ours.toFixed(1)} | ${row.reference.toFixed(1)} | ${row.ratio.toFixed(2)}× |`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e.message || e);
  process.exit(1);
});
