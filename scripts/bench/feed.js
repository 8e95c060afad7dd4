#!/usr/bin/env node
'use strict';
// npm run bench:feed — how fast the host alone can feed a device: 224² uint8 batches gathered
// from a memory-mapped store shard (rows in the epoch's permutation) straight into the buffer
// the device copies from — pinned memory when a GPU is the target; no augmentation (that runs on
// the device). The figure to beat is what a GPU consumes, so the host is never what it waits for.
//
//   node scripts/bench/feed.js [--images 2048] [--size 224] [--batch 256] [--batches 40]
//        [--channels 1,3] [--threads 2] [--device cpu|cuda] [--json]

const fs = require('fs');
const os = require('os');
const path = require('path');
const { arg, flag } = require('./args');
const { mappedImages } = require('./store-shard');

const root = path.resolve(__dirname, '../..');
const api = require(path.join(root, 'dist'));
const { tensorSource } = require(path.join(root, 'dist/train/trainer'));

const o = {
  images: Number(arg('images', '2048')),
  size: Number(arg('size', '224')),
  batch: Number(arg('batch', '256')),
  batches: Number(arg('batches', '40')),
  channels: arg('channels', '1,3').split(',').map(Number),
  threads: Number(arg('threads', String(os.availableParallelism ? os.availableParallelism() : os.cpus().length))),
  device: arg('device', 'cpu'),
  json: flag('json'),
};

async function measure(channels, dir) {
  const images = await mappedImages(api, dir, `shard-c${channels}.safetensors`, [o.images, channels, o.size, o.size], (bytes) => {
    for (let i = 0; i < bytes.length; i += 4096) bytes[i] = i & 255;
  });
  const source = tensorSource(images, {
    batchSize: o.batch,
    imageSize: o.size,
    prefetch: 0,
    augmentDevice: o.device,
  });
  // One pass first: the shard's pages in the page cache, as in any epoch after the first.
  await source.measure(Math.ceil(o.images / o.batch), o.threads, true);
  const r = await source.measure(o.batches, o.threads, true);
  return { channels, imagesPerSecond: r.imagesPerSecond, gigabytesPerSecond: r.bytesPerSecond / 1e9, pinned: r.pinned };
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'imlm-bench-feed-'));
  try {
    const rows = [];
    for (const channels of o.channels) rows.push(await measure(channels, dir));
    const setup = `${o.size}² uint8, batch ${o.batch}, ${o.batches} batches from a memory-mapped shard of ${o.images} images (page cache warm), ` +
      `${o.threads} thread(s), target ${o.device}`;
    if (o.json) {
      console.log(JSON.stringify({ setup, rows }));
      return;
    }
    console.log(setup);
    console.log('| channels | images/s | GB/s | pinned |');
    console.log('|---|---|---|---|');
    for (const r of rows) {
      console.log(`| ${r.channels} | ${r.imagesPerSecond.toFixed(0)} | ${r.gigabytesPerSecond.toFixed(2)} | ${r.pinned ? 'yes' : 'no (CPU build: no pinned memory)'} |`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e.stack || e.message || e);
  process.exit(1);
});
