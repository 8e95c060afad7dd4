/**
 * CKA between two features files of the same samples (docs/method.md, metrics; docs/evaluation.md), per
 * representation (block1..block4, embedding): on all rows where the kernel fits in memory, and
 * the paper's bootstrap over seeded sets drawn without replacement (mean and population std).
 */
import { validate, type Schema } from '../config/validate';
import { ImlmError } from '../errors';
import { native } from '../native';
import type { Tensor } from '../tensor';
import { alignRows, kFeatureTensors, readBoth, readFeatures } from './files';
import { withDefaults } from '../with-defaults';

export interface CkaOptions {
  /** Representations to compare (default: every block, block1..block4, that both files hold; name 'embedding' to compare the head's output). */
  tensors?: string[];
  kernel?: 'linear' | 'rbf';
  /** RBF: absolute σ (the paper's README uses 0.8). */
  sigma?: number;
  /** RBF: σ = f·√(median of non-zero squared distances), per representation (default 1, the reference's sigma=None). */
  sigmaMedianFraction?: number;
  /** Bootstrap sets (default 50; 0 = none) of `setSize` rows (default 1000), drawn with `seed` (default 0). */
  sets?: number;
  setSize?: number;
  seed?: number;
  /** RBF on all rows needs n×n kernels: above this many rows it is skipped with a reason (default 4096). */
  maxFullSamples?: number;
}

/** The options of `cka` and `ckaOfTensors`, validated before anything reaches native code. */
export const ckaOptionsSchema: Schema = {
  type: 'object',
  properties: {
    tensors: { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1 },
    kernel: { type: 'string', enum: ['linear', 'rbf'] },
    sigma: { type: 'number', exclusiveMinimum: 0 },
    sigmaMedianFraction: { type: 'number', exclusiveMinimum: 0 },
    sets: { type: 'integer', minimum: 0, maximum: 100000 },
    setSize: { type: 'integer', minimum: 2 },
    seed: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
    maxFullSamples: { type: 'integer', minimum: 0 },
  },
  additionalProperties: false,
};

export interface CkaEntry {
  tensor: string;
  /** CKA on all paired rows; null with `fullSkipped` saying why. */
  cka: number | null;
  fullSkipped: string | null;
  sigma: { a: number; b: number } | null;
  bootstrap: { mean: number; std: number; sets: number; setSize: number; seed: number; values: number[] } | null;
}

export interface CkaReport {
  a: string;
  b: string;
  kernel: 'linear' | 'rbf';
  sigma: number | null;
  sigmaMedianFraction: number | null;
  samples: number;
  results: CkaEntry[];
}

/**
 * The one set of CKA defaults, for `analyze cka`, `eval cka` and `paper`: the paper's RBF kernel,
 * with σ the median distance (a fraction 1; the reference's absolute σ = 0.8 saturates on
 * unnormalised features: docs/method.md, "Metrics in the reference"), and its bootstrap of 50
 * sets of 1,000 rows.
 */
export const kCkaDefaults = { kernel: 'rbf', sigmaMedianFraction: 1, sets: 50, setSize: 1000, seed: 0, maxFullSamples: 4096 } as const;

type ResolvedCkaOptions = Required<Pick<CkaOptions, 'kernel' | 'sets' | 'setSize' | 'seed' | 'maxFullSamples'>> & CkaOptions;

/** CKA of two representations [n, d1], [n, d2] whose rows are already paired. */
export async function ckaOfTensors(x: Tensor, y: Tensor, options: CkaOptions = {}): Promise<Omit<CkaEntry, 'tensor'>> {
  const opts = resolve(options);
  return ckaPair(x, y, opts);
}

function resolve(options: CkaOptions): ResolvedCkaOptions {
  const opts = validate<ResolvedCkaOptions>(
    ckaOptionsSchema,
    withDefaults({ kernel: kCkaDefaults.kernel, sets: kCkaDefaults.sets, setSize: kCkaDefaults.setSize, seed: kCkaDefaults.seed, maxFullSamples: kCkaDefaults.maxFullSamples }, options),
    'options',
  );
  if (opts.sigma !== undefined && opts.sigmaMedianFraction !== undefined) {
    throw new ImlmError('Expected either sigma or sigmaMedianFraction (--sigma or --sigma-median-fraction) for the RBF kernel but received both', 'ERR_INVALID_ARG');
  }
  if (opts.kernel === 'linear' && (opts.sigma !== undefined || opts.sigmaMedianFraction !== undefined)) {
    throw new ImlmError("sigma and sigmaMedianFraction apply to the RBF kernel only; choose kernel 'rbf' (--kernel rbf)", 'ERR_INVALID_ARG');
  }
  if (opts.kernel === 'rbf' && opts.sigma === undefined && opts.sigmaMedianFraction === undefined) opts.sigmaMedianFraction = kCkaDefaults.sigmaMedianFraction;
  return opts;
}

async function ckaPair(x: Tensor, y: Tensor, opts: ResolvedCkaOptions): Promise<Omit<CkaEntry, 'tensor'>> {
  const n = x.shape[0];
  if (opts.sets > 0 && n < opts.setSize) {
    throw new ImlmError(
      `there are fewer samples (${n}) than one bootstrap set (${opts.setSize}, drawn without replacement); lower the set size (--set-size) to at most ${n} or pass sets 0`,
      'ERR_INVALID_ARG',
    );
  }
  const full = opts.kernel === 'linear' || n <= opts.maxFullSamples;
  const r = await native().analysisCka(x, y, {
    kernel: opts.kernel,
    sigma: opts.sigma,
    sigmaMedianFraction: opts.sigmaMedianFraction,
    full,
    sets: opts.sets,
    setSize: opts.setSize,
    seed: opts.seed,
  });
  return {
    cka: r.full ? r.full.cka : null,
    fullSkipped: full ? null : `${n} rows exceed maxFullSamples ${opts.maxFullSamples} (the RBF kernels are n×n); see the bootstrap, or raise the limit`,
    sigma: r.full && r.full.sigmaX !== null && r.full.sigmaY !== null ? { a: r.full.sigmaX, b: r.full.sigmaY } : null,
    bootstrap: r.bootstrap,
  };
}

/** CKA of each representation two features files share, rows paired by sample id. */
export async function cka(a: string, b: string, options: CkaOptions = {}): Promise<CkaReport> {
  const opts = resolve(options);
  const [fa, fb] = await readBoth(a, b, readFeatures);
  try {
    const shared = kFeatureTensors.filter((name) => name !== 'embedding' && fa.representations[name] && fb.representations[name]);
    const names = opts.tensors ?? shared;
    for (const name of names) {
      if (!fa.representations[name] || !fb.representations[name]) {
        throw new ImlmError(
          `tensor '${name}' is not in both features files (${a} has ${Object.keys(fa.representations).join(', ')}; ${b} has ${Object.keys(fb.representations).join(', ')})`,
          'ERR_INVALID_ARG',
        );
      }
    }
    if (names.length === 0) throw new ImlmError(`${a} and ${b} share no block (block1..block4); name another tensor to compare`, 'ERR_INVALID_ARG');
    const aligned = await alignRows(fa.ids, fb.ids, names.map((name) => fb.representations[name]), { a, b });
    try {
      const results: CkaEntry[] = [];
      for (let i = 0; i < names.length; ++i) {
        results.push({ tensor: names[i], ...(await ckaPair(fa.representations[names[i]], aligned[i], opts)) });
      }
      return {
        a,
        b,
        kernel: opts.kernel,
        sigma: opts.kernel === 'rbf' ? (opts.sigma ?? null) : null,
        sigmaMedianFraction: opts.kernel === 'rbf' && opts.sigma === undefined ? (opts.sigmaMedianFraction ?? 1) : null,
        samples: fa.ids.shape[0],
        results,
      };
    } finally {
      for (const t of aligned) t.dispose();
    }
  } finally {
    fa.dispose();
    fb.dispose();
  }
}
