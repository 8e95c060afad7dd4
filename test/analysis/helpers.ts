/** Shared by the analysis tests: seeded data, SciPy/scikit-learn through Python, test files. */
import { spawnSync } from 'child_process';
import { mkdtempSync } from 'fs';
import os from 'os';
import path from 'path';
import { tensor, writeSafetensors, type Tensor } from '../../lib';

/** A small seeded PRNG (mulberry32) so that every test's data is fixed. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function normal(rand: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

const kPythons = [process.env.IMLM_PYTHON, '/usr/bin/python3', 'python3'].filter(Boolean) as string[];
let python: string | undefined;

/** A Python with NumPy, SciPy and scikit-learn (Debian: python3-scipy python3-sklearn). */
export function scientificPython(): string {
  if (python) return python;
  for (const candidate of kPythons) {
    if (spawnSync(candidate, ['-c', 'import numpy, scipy, sklearn'], { encoding: 'utf8' }).status === 0) return (python = candidate);
  }
  throw new Error('these tests need Python with NumPy, SciPy and scikit-learn: `sudo apt-get install python3-scipy python3-sklearn` (or set IMLM_PYTHON)');
}

/** Runs Python `code` with `input` as JSON on stdin (variable `data`); returns what it prints as JSON. */
export function py<T>(code: string, input: unknown): T {
  const script = `import json, sys\nimport numpy as np\ndata = json.load(sys.stdin)\n${code}`;
  const r = spawnSync(scientificPython(), ['-c', script], {
    input: JSON.stringify(input),
    encoding: 'utf8',
    env: { ...process.env, PYTHONPATH: path.resolve(__dirname, '../../scripts/reference') },
    maxBuffer: 1 << 28,
  });
  if (r.status !== 0) throw new Error(`python failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

export function tempDir(): string {
  return mkdtempSync(path.join(os.tmpdir(), 'imlm-analysis-'));
}

/** Row-major nested array → flat Float32Array values as plain numbers (what both sides read). */
export function rows(values: Float32Array | Float64Array, columns: number): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < values.length / columns; ++i) out.push(Array.from(values.subarray(i * columns, (i + 1) * columns)));
  return out;
}

export async function writePredictions(
  file: string,
  data: { ids: number[]; probabilities: Float32Array; classes: string[]; task: string; labels?: BigInt64Array | Uint8Array },
): Promise<void> {
  const n = data.ids.length;
  const k = data.probabilities.length / n;
  const tensors: Record<string, Tensor> = {
    ids: tensor(BigInt64Array.from(data.ids.map(BigInt)), [n]),
    probabilities: tensor(data.probabilities, [n, k]),
  };
  if (data.labels) tensors.labels = tensor(data.labels, data.labels instanceof Uint8Array ? [n, k] : [n]);
  await writeSafetensors(file, tensors, {
    format: 'imlm-native/predictions',
    format_version: '1',
    task: data.task,
    classes: JSON.stringify(data.classes),
    model: 'test',
  });
  for (const t of Object.values(tensors)) t.dispose();
}

export async function writeFeatures(file: string, ids: number[], blocks: Record<string, { values: Float32Array; columns: number }>): Promise<void> {
  const tensors: Record<string, Tensor> = { ids: tensor(BigInt64Array.from(ids.map(BigInt)), [ids.length]) };
  for (const [name, b] of Object.entries(blocks)) tensors[name] = tensor(b.values, [ids.length, b.columns]);
  await writeSafetensors(file, tensors, { format: 'imlm-native/features', format_version: '1', task: 'multiclass', classes: '[]', arch: 'test' });
  for (const t of Object.values(tensors)) t.dispose();
}

/** Softmax rows of random logits (float32), optionally rounded to `decimals` to create ties. */
export function softmaxRows(rand: () => number, n: number, k: number, decimals?: number): Float32Array {
  const out = new Float32Array(n * k);
  for (let i = 0; i < n; ++i) {
    const logits = Array.from({ length: k }, () => 2 * normal(rand));
    const m = Math.max(...logits);
    const e = logits.map((l) => Math.exp(l - m));
    const s = e.reduce((a, b) => a + b, 0);
    for (let c = 0; c < k; ++c) {
      let p = e[c] / s;
      if (decimals !== undefined) p = Math.round(p * 10 ** decimals) / 10 ** decimals;
      out[i * k + c] = p;
    }
  }
  return out;
}
