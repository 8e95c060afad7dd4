// 2,000 seeded mutations of a real manifest.json (a tiny store prepared by the package itself),
// each opened through the public store API in-process: every one is accepted and then usable, or
// refused with ERR_FORMAT whose message names the manifest file. No uncoded error is allowed.
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'fs';
import os from 'os';
import path from 'path';
import { isImlmError } from '../../lib/errors';
import { inspectStore } from '../../lib/data/inspect';
import { prepareImages } from '../../lib/data/prepare-images';
import { loadSplit, readManifest, readSamples, type SplitName } from '../../lib/data/store';
import { fractionRows } from '../../lib/eval/label-fraction';
import { uniformImage } from './fixtures';

const kCases = 2000;
const kSeed = 20240611;

/** xorshift32: the same mutations on every run. */
function rng(seed: number) {
  let x = seed >>> 0 || 1;
  const next = () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 4294967296;
  };
  return { next, int: (n: number) => Math.floor(next() * n), pick: <T>(a: readonly T[]) => a[Math.floor(next() * a.length)] };
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Path = Array<string | number>;

function paths(value: Json, at: Path = [], out: Path[] = []): Path[] {
  out.push(at);
  if (Array.isArray(value)) value.forEach((v, i) => paths(v, [...at, i], out));
  else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) paths(v, [...at, k], out);
  return out;
}

function get(root: Json, at: Path): Json {
  return at.reduce<Json>((node, k) => (node as Record<string | number, Json>)[k], root);
}

function set(root: Json, at: Path, value: Json | undefined): Json | undefined {
  if (at.length === 0) return value;
  const parent = get(root, at.slice(0, -1)) as Record<string | number, Json>;
  const key = at[at.length - 1];
  if (value === undefined) {
    if (Array.isArray(parent)) parent.splice(key as number, 1);
    else delete parent[key];
  } else parent[key] = value;
  return root;
}

const kGarbage: Json[] = [
  null, true, false, 0, -1, 1.5, -0.5, 1e308, -1e308, 2 ** 53 + 2, 2 ** 31, 4294967296, 'NaN', 'Infinity', '-Infinity', '', 'x', '../../etc/hostname',
  '/etc/passwd', 'train.safetensors', '1e999', '0x10', [], {}, [1, 2, 3], ['a', 'a'], [null], { a: { b: [null, { c: {} }] } }, [[[[[[]]]]]], { count: -1, shard: '..' },
];

function mutate(text: string, r: ReturnType<typeof rng>): string {
  const kind = r.int(12);
  if (kind === 0) return text.slice(0, r.int(text.length)); // truncated
  if (kind === 1) {
    // a byte changed
    const i = r.int(text.length);
    return text.slice(0, i) + r.pick(['"', '{', '}', ',', ':', '[', ']', '0', '-', 'e', '\\', '\u0000']) + text.slice(i + 1);
  }
  if (kind === 2) return r.pick(['null', '1', '"manifest"', '[]', 'true', '[{}]', '', '  ', '{', '{"format":"imlm-native/dataset"}']); // not an object
  if (kind === 3) {
    // a __proto__ key in a random object
    const opens = [...text.matchAll(/\{/g)].map((m) => m.index!);
    const i = r.pick(opens) + 1;
    return `${text.slice(0, i)}"__proto__":${JSON.stringify(r.pick(kGarbage))}${text[i] === '}' ? '' : ','}${text.slice(i)}`;
  }
  const root = JSON.parse(text) as Json;
  const all = paths(root).filter((p) => p.length > 0);
  const at = r.pick(all);
  const current = get(root, at);
  let out: Json | undefined;
  switch (kind) {
    case 4: // delete
      out = set(root, at, undefined);
      break;
    case 5: {
      // duplicate: another field's value here, or an array item twice
      const parent = get(root, at.slice(0, -1));
      if (Array.isArray(parent) && parent.length > 0) parent.push(parent[r.int(parent.length)]);
      else out = set(root, at, JSON.parse(JSON.stringify(get(root, r.pick(all)))) as Json);
      out ??= root;
      break;
    }
    case 6: // retype: garbage of any type
      out = set(root, at, r.pick(kGarbage));
      break;
    case 7: // numbers: huge, negative, fractional, at numeric paths when there are any
    {
      const numeric = all.filter((p) => typeof get(root, p) === 'number');
      out = set(root, r.pick(numeric.length ? numeric : all), r.pick([-1, -(2 ** 53), 2 ** 53, 1e300, 0.5, 1e-300, 0, 65537, 2 ** 63]));
      break;
    }
    case 8: // strings that look like numbers
      out = set(root, at, r.pick(['NaN', '-1', '1', '2', 'Infinity', '1e3', ' 1', 'null', 'true']));
      break;
    case 9: // nested garbage
      out = set(root, at, { deep: [[{ x: [current] }]], n: [1, '2', null] } as Json);
      break;
    case 10: {
      // an unknown field with garbage in a random object
      const objects = paths(root).filter((p) => { const v = get(root, p); return v !== null && typeof v === 'object' && !Array.isArray(v); });
      const o = get(root, r.pick(objects)) as Record<string, Json>;
      o[r.pick(['extra', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'train', '1', '0.5'])] = r.pick(kGarbage);
      out = root;
      break;
    }
    default: // several mutations of values at once
      for (let k = 0; k < 3; k++) set(root, r.pick(paths(root).filter((p) => p.length > 0)), r.pick(kGarbage));
      out = root;
  }
  return out === undefined ? '' : JSON.stringify(out);
}

describe('manifest.json fuzzing', () => {
  let store: string;
  let original: string;

  beforeAll(async () => {
    const src = mkdtempSync(path.join(os.tmpdir(), 'imlm-fuzz-src-'));
    await Promise.all(Array.from({ length: 12 }, (_, i) => uniformImage(path.join(src, i % 2 ? 'a' : 'b', `${i}.png`), 4, 4, 1, i * 10)));
    const prepared = path.join(os.tmpdir(), 'prepared');
    await prepareImages('folder', src, prepared, { size: 4, channels: 1, shares: { train: 0.6, val: 0.2, test: 0.2 }, fractions: [0.25, 0.5, 1] });
    store = path.join(os.tmpdir(), 'fuzzed');
    cpSync(prepared, store, { recursive: true });
    original = readFileSync(path.join(store, 'manifest.json'), 'utf8');
  });

  /** Opens the store as every reader does; returns how it ended. */
  async function open(): Promise<void> {
    const manifest = await readManifest(store);
    for (const name of Object.keys(manifest.splits) as SplitName[]) {
      const { images, labels, ids } = await loadSplit(store, name);
      try {
        if (name === 'train') {
          for (const key of Object.keys(manifest.labelFractions?.fractions ?? {})) fractionRows(manifest, ids, Number(key)).rows?.dispose();
        }
      } finally {
        for (const t of [images, labels, ids]) t.dispose();
      }
    }
    if (manifest.samples) await readSamples(store);
    await inspectStore(store);
  }

  test('the unmutated manifest opens', async () => {
    await open();
  });

  test(`${kCases} seeded mutations: each accepted and usable, or ERR_FORMAT naming the manifest`, async () => {
    const r = rng(kSeed);
    const manifestFile = path.join(store, 'manifest.json');
    const outcomes = { accepted: 0, refused: 0, uncoded: 0, otherCode: 0, unnamed: 0 };
    const failures: string[] = [];
    const started = Date.now();
    for (let i = 0; i < kCases; i++) {
      const text = mutate(original, r);
      writeFileSync(manifestFile, text);
      try {
        await open();
        outcomes.accepted++;
      } catch (e) {
        if (!isImlmError(e)) {
          outcomes.uncoded++;
          if (failures.length < 10) failures.push(`case ${i}: uncoded ${(e as Error).stack}\n${text.slice(0, 300)}`);
        } else if (e.code !== 'ERR_FORMAT') {
          outcomes.otherCode++;
          if (failures.length < 10) failures.push(`case ${i}: ${e.code} ${e.message}\n${text.slice(0, 300)}`);
        } else if (!e.message.includes(manifestFile)) {
          outcomes.unnamed++;
          if (failures.length < 10) failures.push(`case ${i}: message lacks the manifest: ${e.message}\n${text.slice(0, 300)}`);
        } else outcomes.refused++;
      }
    }
    writeFileSync(manifestFile, original);
    // eslint-disable-next-line no-console
    console.log(`manifest fuzzing: ${JSON.stringify(outcomes)} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    expect(failures).toEqual([]);
    expect(outcomes.accepted + outcomes.refused).toBe(kCases);
    expect(outcomes.refused).toBeGreaterThan(kCases / 2);
  });
});
