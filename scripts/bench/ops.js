#!/usr/bin/env node
'use strict';
// npm run bench:ops — ATen operator calls per training step, ours against the Python reference
// (scripts/reference/count_ops.py: torch.profiler on the CPU), same configuration. On a GPU each
// call is at least one kernel launch or a host-side dispatch, so this is the CPU-side proxy for
// launch overhead; it does not depend on image size or batch, so small ones keep it quick.
//
//   node scripts/bench/ops.js [--models r18-small,r50-standard] [--loss none|mse|barlow|all]
//        [--steps 10] [--json]
//
// Ours: `countOps` (RecordFunction on every thread) over `steps` steps with one report at the
// end; a steady-state step is a non-report step, the report step is shown beside it. Counted:
// calls whose name starts with "aten::" — all of them, and the top-level ones (not made from
// inside another ATen call). The reference counts the same two ways.

const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');
const { arg, flag } = require('./args');
const { findTorchPython } = require('./python');

const root = path.resolve(__dirname, '../..');
const { resolveTrainConfig } = require(path.join(root, 'dist/config/train-config'));
const { Trainer, fixedBatchesSource } = require(path.join(root, 'dist/train/trainer'));
const api = require(path.join(root, 'dist'));

const MODELS = {
  'r18-small': { arch: 'resnet18', stem: 'small', imageSize: 16 },
  'r50-standard': { arch: 'resnet50', stem: 'standard', imageSize: 64 },
};

const opts = {
  models: arg('models', 'r18-small,r50-standard').split(','),
  loss: arg('loss', 'all'),
  steps: Number(arg('steps', '6')),
  json: flag('json'),
};

function configFor(model, loss) {
  return resolveTrainConfig('kaku2021', {
    ...MODELS[model],
    batchSize: 8,
    queueSize: 256,
    device: 'cpu',
    channelsLast: true,
    threads: 1,
    intermediate: { loss },
  }, { cuda: false });
}

/** Sums a step's counts: [all, topLevel], skipping our own marker (not an ATen operator). */
function totals(ops) {
  let all = 0;
  let top = 0;
  for (const [name, [a, t]] of Object.entries(ops)) {
    if (!name.startsWith('aten::')) continue;
    all += a;
    top += t;
  }
  return { all, top };
}

async function ours(config) {
  const trainer = await Trainer.create(config);
  const n = 2 + opts.steps;
  const shape = [n, config.batchSize, config.inChannels, config.imageSize, config.imageSize];
  const numel = shape.reduce((a, b) => a * b, 1);
  const q = api.tensor(Float32Array.from({ length: numel }, () => Math.random()), shape);
  const k = api.tensor(Float32Array.from({ length: numel }, () => Math.random()), shape);
  const source = fixedBatchesSource(q, k, 0);
  await trainer.run(source, { steps: 2, reportEvery: 2 });
  const summary = await trainer.run(source, { steps: opts.steps, reportEvery: opts.steps, countOps: true });
  const steady = summary.opCounts.filter((s) => !s.report).map((s) => totals(s.ops));
  const report = summary.opCounts.filter((s) => s.report).map((s) => totals(s.ops));
  const mean = (xs, key) => xs.reduce((a, b) => a + b[key], 0) / xs.length;
  q.dispose();
  k.dispose();
  return {
    steady: { all: mean(steady, 'all'), top: mean(steady, 'top') },
    report: { all: mean(report, 'all'), top: mean(report, 'top') },
    ops: summary.opCounts.find((s) => !s.report).ops,
  };
}

function reference(config, python, foreach) {
  const file = path.join(os.tmpdir(), `imlm-ops-${process.pid}.json`);
  fs.writeFileSync(file, JSON.stringify(config));
  const args = [path.join(root, 'scripts/reference/count_ops.py'), '--config', file, '--steps', '2', '--warmup', '1', '--json'];
  if (foreach) args.push('--foreach');
  const r = spawnSync(python, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  fs.rmSync(file, { force: true });
  if (r.status !== 0) throw new Error(`the Python reference failed:\n${r.stderr}`);
  const out = JSON.parse(r.stdout.trim().split('\n').pop());
  return { all: out.all, top: out.topLevel, ops: out.ops, torch: out.torch };
}

async function main() {
  const py = findTorchPython();
  if (!py) {
    console.error('bench:ops needs a Python with PyTorch for the reference: apt-get install python3-torch python3-torchvision (or set IMLM_PYTHON)');
    process.exit(1);
  }
  const losses = opts.loss === 'all' ? ['none', 'mse', 'barlow'] : [opts.loss];
  const rows = [];
  for (const model of opts.models) {
    for (const loss of losses) {
      const config = configFor(model, loss);
      const a = await ours(config);
      const loop = reference(config, py.python, false);
      const multi = reference(config, py.python, true);
      rows.push({ model, loss, ours: a.steady, oursReport: a.report, referenceForeach: { all: multi.all, top: multi.top }, referenceLoop: { all: loop.all, top: loop.top } });
    }
  }
  const runtime = await api.info();
  const setup = `ATen calls per step; ours LibTorch ${runtime.libtorch.version}, reference PyTorch ${py.torchVersion}; CPU, fp32, channels_last, batch 8, K 256 ` +
    `(counts do not depend on size); ours: mean of ${opts.steps - 1} steady-state steps and the report step`;
  if (opts.json) {
    console.log(JSON.stringify({ setup, rows }));
    return;
  }
  console.log(setup);
  console.log('| model | loss | ours, steady step: all (top-level) | ours, report step | reference, SGD foreach | reference, SGD loop | ours / reference foreach (top-level) |');
  console.log('|---|---|---|---|---|---|---|');
  const f = (c) => `${c.all.toFixed(0)} (${c.top.toFixed(0)})`;
  for (const r of rows) {
    console.log(`| ${r.model} | ${r.loss} | ${f(r.ours)} | ${f(r.oursReport)} | ${f(r.referenceForeach)} | ${f(r.referenceLoop)} | ` +
      `${(r.ours.all / r.referenceForeach.all).toFixed(2)} (${(r.ours.top / r.referenceForeach.top).toFixed(2)}) |`);
  }
}

main().catch((e) => {
  console.error(e.stack || e.message || e);
  process.exit(1);
});
