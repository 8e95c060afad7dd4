#!/usr/bin/env node
'use strict';
// npm run bench:dist — data-parallel training throughput on this machine: images/s of the whole
// run (all ranks) for 1 and 2 ranks over c10d (Gloo on the CPU), each rank with the same
// resources (one intra-op thread, the same per-rank batch), and the scaling efficiency
// ips(W) / (W · ips(1)). Ranks are real processes on 127.0.0.1, started with torchrun's
// variables; the timing covers only the steps (batches are generated before the clock starts).
//
//   node scripts/bench/dist.js [--ranks 1,2] [--batch 16] [--size 32] [--arch resnet18]
//        [--stem small] [--loss mse] [--steps 10] [--warmup 2] [--threads 1] [--bucket-mb 25] [--json]
//
// --bucket-mb 100000 puts every gradient in one bucket, reduced only after backward ends: the
// difference to the default shows what overlapping communication with backward buys.

const path = require('path');
const { spawn } = require('child_process');
const { arg, flag } = require('./args');

const root = path.resolve(__dirname, '../..');

const opts = {
  ranks: arg('ranks', '1,2').split(',').map(Number),
  batch: Number(arg('batch', '16')), // per rank
  size: Number(arg('size', '32')),
  arch: arg('arch', 'resnet18'),
  stem: arg('stem', 'small'),
  loss: arg('loss', 'mse'),
  steps: Number(arg('steps', '10')),
  warmup: Number(arg('warmup', '2')),
  threads: Number(arg('threads', '1')),
  bucketMb: Number(arg('bucket-mb', '25')),
  json: flag('json'),
};

/** One rank: train warmup + steps on fixed random batches; rank 0 prints the timed figure. */
async function worker() {
  const { Trainer, fixedBatchesSource } = require(path.join(root, 'dist/train/trainer'));
  const { resolveTrainConfig } = require(path.join(root, 'dist/config/train-config'));
  const { readDistEnv } = require(path.join(root, 'dist/distributed/env'));
  const { tensor } = require(path.join(root, 'dist/tensor'));
  const env = readDistEnv();
  const world = env ? env.worldSize : 1;
  const config = resolveTrainConfig('kaku2021', {
    arch: opts.arch, stem: opts.stem, imageSize: opts.size, batchSize: opts.batch * world, queueSize: 4096,
    device: 'cpu', threads: opts.threads, intermediate: { loss: opts.loss },
  });
  const dist = world > 1 ? { rank: env.rank, worldSize: world, masterAddr: env.masterAddr, masterPort: env.masterPort, bucketMb: opts.bucketMb } : undefined;
  const trainer = await Trainer.create(config, dist);
  const n = opts.warmup + opts.steps;
  const shape = [n, opts.batch * world, 3, opts.size, opts.size];
  const numel = shape.reduce((a, b) => a * b, 1);
  const q = tensor(Float32Array.from({ length: numel }, () => Math.random()), shape);
  const k = tensor(Float32Array.from({ length: numel }, () => Math.random()), shape);
  const source = fixedBatchesSource(q, k, 0, dist ? { rank: dist.rank, worldSize: world } : undefined);
  await trainer.run(source, { steps: opts.warmup });
  const summary = await trainer.run(source, { steps: opts.steps });
  if (trainer.rank === 0) process.stdout.write(JSON.stringify({ world, imagesPerSecond: summary.imagesPerSecond, seconds: summary.seconds }) + '\n');
}

function runRanks(world, port) {
  return Promise.all(
    Array.from({ length: world }, (_, rank) => new Promise((resolve, reject) => {
      const env = { ...process.env, IMLM_BENCH_DIST_WORKER: '1' };
      if (world > 1) Object.assign(env, { RANK: String(rank), LOCAL_RANK: String(rank), WORLD_SIZE: String(world), MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port) });
      else for (const name of ['RANK', 'WORLD_SIZE', 'SLURM_PROCID', 'SLURM_NTASKS']) delete env[name];
      const child = spawn(process.execPath, [__filename, ...process.argv.slice(2)], { env, stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.on('close', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`rank ${rank} of ${world} exited with ${code}`))));
    })),
  ).then((outs) => JSON.parse(outs[0]));
}

async function main() {
  const { freePort } = require(path.join(root, 'dist/distributed/launcher'));
  const rows = [];
  for (const world of opts.ranks) rows.push(await runRanks(world, await freePort()));
  const base = rows.find((r) => r.world === 1);
  for (const r of rows) r.efficiency = base ? r.imagesPerSecond / (r.world * base.imagesPerSecond) : null;
  if (opts.json) {
    process.stdout.write(JSON.stringify({ options: opts, rows }) + '\n');
    return;
  }
  console.log(`${opts.arch} (${opts.stem} stem), ${opts.size}×${opts.size}, loss ${opts.loss}, batch ${opts.batch} per rank, ${opts.threads} thread(s) per rank, ${opts.bucketMb} MB gradient buckets, ${opts.steps} timed steps`);
  console.log('| ranks | global batch | img/s (all ranks) | scaling efficiency |');
  console.log('|---|---|---|---|');
  for (const r of rows) {
    console.log(`| ${r.world} | ${opts.batch * r.world} | ${r.imagesPerSecond.toFixed(1)} | ${r.efficiency === null ? '–' : (100 * r.efficiency).toFixed(0) + '%'} |`);
  }
}

(process.env.IMLM_BENCH_DIST_WORKER ? worker() : main()).catch((error) => {
  process.stderr.write(`bench:dist: ${error.message}\n`);
  process.exit(1);
});
