#!/usr/bin/env node
'use strict';
// npm run bench:analysis — seconds of imlm-native's evaluation analyses against the same work
// done the reference's way in Python (scikit-learn roc_auc_score per class per resample, SciPy
// ks_2samp per class, NumPy float64 CKA of scripts/reference/cka.py), on data of NIH's test-set
// shape (N × 14 multilabel) and ResNet-50 block-4 width.
//
//   node scripts/bench/analysis.js [--samples 25000] [--classes 14] [--resamples 200] [--sets 5] [--set-size 1000] [--dim 2048] [--json]

const path = require('path');
const { spawnSync } = require('child_process');
const { arg, flag } = require('./args');

const root = path.resolve(__dirname, '../..');
const api = require(path.join(root, 'dist'));

const o = {
  samples: Number(arg('samples', '25000')),
  classes: Number(arg('classes', '14')),
  resamples: Number(arg('resamples', '200')),
  sets: Number(arg('sets', '5')),
  setSize: Number(arg('set-size', '1000')),
  dim: Number(arg('dim', '2048')),
  json: flag('json'),
};

function findPython() {
  for (const python of [process.env.IMLM_PYTHON, '/usr/bin/python3', 'python3'].filter(Boolean)) {
    if (spawnSync(python, ['-c', 'import numpy, scipy, sklearn'], { stdio: 'ignore' }).status === 0) return python;
  }
  throw new Error('bench:analysis needs NumPy, SciPy and scikit-learn for Python: apt-get install python3-scipy python3-sklearn');
}

const kPythonSide = `
import json, sys, time
import numpy as np
from scipy import stats
from sklearn.metrics import roc_auc_score
sys.path.insert(0, sys.argv[2])
from cka import cka
o = json.loads(sys.argv[1])
rng = np.random.default_rng(0)
n, k = o['samples'], o['classes']
P = rng.random((n, k)).astype(np.float32)
Y = (rng.random((n, k)) < 0.3 * P).astype(np.int64)
t = time.perf_counter()
for _ in range(o['resamples']):
    idx = rng.choice(n, n)
    for c in range(k):
        y = Y[idx, c]
        if 0 < y.sum() < n:
            roc_auc_score(y, P[idx, c])
metrics = time.perf_counter() - t
Q = rng.random((n, k)).astype(np.float32)
t = time.perf_counter()
for c in range(k):
    stats.ks_2samp(P[:, c], Q[:, c], method='asymp')
ks = time.perf_counter() - t
X = rng.random((o['setSize'] * 2, o['dim'])).astype(np.float32)
Z = rng.random((o['setSize'] * 2, o['dim'])).astype(np.float32)
t = time.perf_counter()
for _ in range(o['sets']):
    idx = rng.permutation(len(X))[:o['setSize']]
    cka(X[idx], Z[idx], 'rbf')
ckaSeconds = time.perf_counter() - t
print(json.dumps(dict(metrics=metrics, ks=ks, cka=ckaSeconds)))
`;

function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function seconds(work) {
  const start = process.hrtime.bigint();
  await work();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

async function main() {
  const python = findPython();
  const rand = random(0);
  const { samples: n, classes: k } = o;
  const p = Float32Array.from({ length: n * k }, () => rand());
  const y = Uint8Array.from(p, (v) => (rand() < 0.3 * v ? 1 : 0));
  const q = Float32Array.from({ length: n * k }, () => rand());
  const rows = o.setSize * 2;
  const x = Float32Array.from({ length: rows * o.dim }, () => rand());
  const z = Float32Array.from({ length: rows * o.dim }, () => rand());
  const t = {
    p: api.tensor(p, [n, k]),
    y: api.tensor(y, [n, k]),
    q: api.tensor(q, [n, k]),
    x: api.tensor(x, [rows, o.dim]),
    z: api.tensor(z, [rows, o.dim]),
  };
  const ours = {
    metrics: await seconds(() => api.analysis.metricsOfTensors(t.p, t.y, 'multilabel', { resamples: o.resamples, seed: 0 })),
    ks: await seconds(() => api.analysis.ksOfTensors(t.p, t.q, { method: 'asymp' })),
    cka: await seconds(() => api.analysis.ckaOfTensors(t.x, t.z, { kernel: 'rbf', sets: o.sets, setSize: o.setSize, maxFullSamples: 0 })),
  };
  Object.values(t).forEach((tensor) => tensor.dispose());
  const r = spawnSync(python, ['-c', kPythonSide, JSON.stringify(o), path.join(root, 'scripts/reference')], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`the Python side failed:\n${r.stderr}`);
  const reference = JSON.parse(r.stdout);
  const rowsOut = ['metrics', 'ks', 'cka'].map((name) => ({ name, imlm: ours[name], reference: reference[name], ratio: reference[name] / ours[name] }));
  if (o.json) {
    process.stdout.write(JSON.stringify({ options: o, results: rowsOut }) + '\n');
    return;
  }
  const what = {
    metrics: `AUC/F1/accuracy + ${o.resamples} bootstrap resamples, ${n} × ${k} multilabel (reference: AUC only)`,
    ks: `KS (asymp) per class, ${n} vs ${n} values × ${k}`,
    cka: `RBF CKA, ${o.sets} sets × ${o.setSize} rows, d ${o.dim}`,
  };
  for (const row of rowsOut) {
    process.stdout.write(`${what[row.name]}: imlm-native ${row.imlm.toFixed(2)} s, Python ${row.reference.toFixed(2)} s (${row.ratio.toFixed(1)}×)\n`);
  }
}

main().catch((e) => {
  process.stderr.write(`${e.stack || e}\n`);
  process.exit(1);
});
