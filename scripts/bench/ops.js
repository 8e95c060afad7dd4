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
// calls whose name starts with "aten::" — the top-level ones (not made from inside another ATen
// call: what the step's code dispatches), those not inside a multi-tensor (_foreach_/_fused_)
// call (on a GPU one kernel per list; on the CPU a loop of per-tensor calls), and all of them.
// The reference counts the same three ways.

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

/** Sums a step's counts, skipping our own marker (not an ATen operator). */
function totals(ops) {
  const sum = { all: 0, top: 0, launch: 0 };
  for (const [name, [a, t, l]] of Object.entries(ops)) {
    if (!name.startsWith('aten::')) continue;
    sum.all += a;
    sum.top += t;
    sum.launch += l;
  }
  return sum;
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
  const means = (xs) => ({ all: mean(xs, 'all'), top: mean(xs, 'top'), launch: mean(xs, 'launch') });
  q.dispose();
  k.dispose();
  return {
    steady: means(steady),
    report: means(report),
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
  return { all: out.all, top: out.topLevel, launch: out.outsideMultiTensor, ops: out.ops, torch: out.torch };
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
      const pick = (r) => ({ all: r.all, top: r.top, launch: r.launch });
      rows.push({ model, loss, ours: a.steady, oursReport: a.report, referenceForeach: pick(multi), referenceLoop: pick(loop) });
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
  console.log('Each cell: top-level calls / calls outside multi-tensor ops (launch proxy) / all calls.');
  console.log('| model | loss | ours, steady step | ours, report step | reference, SGD foreach | reference, SGD loop | ours / reference foreach |');
  console.log('|---|---|---|---|---|---|---|');
  const f = (c) => `${c.top.toFixed(0)} / ${c.launch.toFixed(0)} / ${c.all.toFixed(0)}`;
  const ratio = (a, b) => `${(a.top / b.top).toFixed(2)} / ${(a.launch / b.launch).toFixed(2)} / ${(a.all / b.all).toFixed(2)}`;
  for (const r of rows) {
    console.log(`| ${r.model} | ${r.loss} | ${f(r.ours)} | ${f(r.oursReport)} | ${f(r.referenceForeach)} | ${f(r.referenceLoop)} | ${ratio(r.ours, r.referenceForeach)} |`);
  }
}

main().catch((e) => {
  console.error(e.stack || e.message || e);
  process.exit(1);
});
