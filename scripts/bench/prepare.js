#!/usr/bin/env node
'use strict';
// npm run bench:prepare — images/s and peak memory of `prepare` on a generated NIH-layout folder
// (grey PNGs with Data_Entry_2017.csv), for two data-set sizes: the peak RSS should not grow with
// the number of images (rows go straight to the shard), only the time.
//
//   node scripts/bench/prepare.js [--counts 300,1200] [--source-size 512] [--size 224] [--concurrency N] [--json]

const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');
const { arg, flag } = require('./args');

const root = path.resolve(__dirname, '../..');
const sharp = require(path.join(root, 'node_modules', 'sharp'));

const o = {
  counts: arg('counts', '300,1200').split(',').map(Number),
  sourceSize: Number(arg('source-size', '512')),
  size: Number(arg('size', '224')),
  concurrency: arg('concurrency', String(os.availableParallelism())),
  json: flag('json'),
};

/** A textured grey PNG (a gradient plus a per-image pattern, so it does not compress to nothing). */
async function writeImage(file, i, side) {
  const data = Buffer.alloc(side * side);
  for (let y = 0; y < side; y++) for (let x = 0; x < side; x++) data[y * side + x] = (x + 2 * y + ((x * y * (i + 1)) % 37)) & 0xff;
  await sharp(data, { raw: { width: side, height: side, channels: 1 } }).png({ compressionLevel: 1 }).toFile(file);
}

async function makeSource(dir, count) {
  fs.mkdirSync(path.join(dir, 'images_001', 'images'), { recursive: true });
  const lines = ['Image Index,Finding Labels,Follow-up #,Patient ID,Patient Age,Patient Gender,View Position,OriginalImage[Width,Height],OriginalImagePixelSpacing[x,y],'];
  // One template image copied: generation time is not what is measured.
  const template = path.join(dir, 'template.png');
  await writeImage(template, 0, o.sourceSize);
  for (let i = 0; i < count; i++) {
    const name = `${String(Math.floor(i / 3) + 1).padStart(8, '0')}_${String(i % 3).padStart(3, '0')}.png`;
    fs.copyFileSync(template, path.join(dir, 'images_001', 'images', name));
    lines.push(`${name},${i % 5 ? 'No Finding' : 'Effusion'},${i % 3},${Math.floor(i / 3) + 1},50,F,PA,${o.sourceSize},${o.sourceSize},0.143,0.143`);
  }
  fs.rmSync(template);
  fs.writeFileSync(path.join(dir, 'Data_Entry_2017.csv'), lines.join('\n') + '\n');
}

async function main() {
  const results = [];
  for (const count of o.counts) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'imlm-bench-prepare-'));
    try {
      await makeSource(path.join(dir, 'src'), count);
      const started = Date.now();
      // /usr/bin/time -v gives the child's peak RSS.
      const r = spawnSync('/usr/bin/time', ['-v', process.execPath, path.join(root, 'bin', 'imlm-native.js'), 'prepare', 'nih-cxr14', path.join(dir, 'src'), path.join(dir, 'store'), '--size', String(o.size), '--concurrency', o.concurrency, '--json'], { encoding: 'utf8', maxBuffer: 1 << 26 });
      if (r.status !== 0) throw new Error(`prepare failed:\n${r.stderr}`);
      const seconds = (Date.now() - started) / 1000;
      const rssKb = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr)?.[1] ?? NaN);
      const shardBytes = ['train', 'val', 'test'].reduce((s, n) => s + (fs.existsSync(path.join(dir, 'store', `${n}.safetensors`)) ? fs.statSync(path.join(dir, 'store', `${n}.safetensors`)).size : 0), 0);
      results.push({ count, seconds, imagesPerSecond: count / seconds, peakRssMiB: rssKb / 1024, shardMiB: shardBytes / 2 ** 20 });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  if (o.json) process.stdout.write(JSON.stringify({ options: o, cpus: os.availableParallelism(), results }) + '\n');
  else {
    console.log(`prepare nih-cxr14: ${o.sourceSize}² grey PNG → ${o.size}² × 1, concurrency ${o.concurrency}, ${os.availableParallelism()} CPUs (process start and hashing included)`);
    for (const r of results) console.log(`  ${r.count} images: ${r.seconds.toFixed(1)} s, ${r.imagesPerSecond.toFixed(0)} images/s, peak RSS ${r.peakRssMiB.toFixed(0)} MiB, shards ${r.shardMiB.toFixed(1)} MiB`);
  }
}

main().catch((e) => {
  console.error(e.stack || String(e));
  process.exit(1);
});
