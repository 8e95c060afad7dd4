'use strict';
// The fuzzer's case generator: deterministic mutations of real safetensors files. Case N of
// seed S is always the same bytes (given the same seed files), so a failure replays with
// `npm run fuzz -- --seed S --case N`. Pure JavaScript, no addon: the parent uses it to write a
// case to disk, the workers to run it.
//
// A case applies, to one seed file, zero to two structural mutations (of the header's JSON,
// re-serialised with the length fixed, the data grown when a mutation needs it) and zero to
// three byte-level mutations (bit flips, truncation, header-length edits, raw JSON text edits),
// at least one in all.

/** A small seeded PRNG (mulberry32) from the seed and the case number. */
function rngFor(seed, index) {
  let h = (Math.imul((seed >>> 0) ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul((index >>> 0) + 0x632be5ab, 0xc2b2ae35)) >>> 0;
  for (let i = 0; i < 4; i++) h = Math.imul(h ^ (h >>> 16), 0x45d9f3b) >>> 0;
  const next = () => {
    h = (h + 0x6d2b79f5) >>> 0;
    let t = h;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n) => Math.floor(next() * n);
  return { next, int, pick: (list) => list[int(list.length)], chance: (p) => next() < p };
}

/** A JSON fragment written as is (numbers JSON.stringify cannot write, malformed text). */
const raw = (text) => ({ __raw: text });

/** Serialises values where BigInts are exact and raw fragments are kept; objects are [key, value] pairs. */
function serialise(value) {
  if (typeof value === 'bigint') return value.toString();
  if (value && typeof value === 'object' && '__raw' in value) return value.__raw;
  if (value && typeof value === 'object' && value.__pairs) {
    return `{${value.__pairs.map(([k, v]) => `${typeof k === 'object' ? k.__raw : JSON.stringify(k)}:${serialise(v)}`).join(',')}}`;
  }
  if (Array.isArray(value)) return `[${value.map(serialise).join(',')}]`;
  if (value && typeof value === 'object') return `{${Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}:${serialise(v)}`).join(',')}}`;
  return JSON.stringify(value) ?? 'null';
}

/** Splits a safetensors file into its header (as [name, entry] pairs) and data section. */
function parseSeed(bytes) {
  const length = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + length).toString('utf8'));
  return { pairs: Object.entries(header), data: bytes.subarray(8 + length) };
}

function assemble(pairs, data, pad) {
  let json = Buffer.from(serialise({ __pairs: pairs }), 'utf8');
  if (pad && json.length % 8) json = Buffer.concat([json, Buffer.alloc(8 - (json.length % 8), 0x20)]);
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([length, json, data]);
}

const dtypeSizes = { F32: 4, F64: 8, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1, BF16: 2, F16: 2 };
const dimEdges = [
  0, 1, -1, 2, 3, 255, 65536, 2 ** 31, 2 ** 32, 2 ** 53 - 1, 2 ** 53, 2n ** 62n, 2n ** 63n - 1n, 2n ** 63n, 2n ** 64n, 2n ** 64n + 1n,
  '1', null, 1.5, raw('-0'), raw('1e3'), raw('1e400'), raw('00012'), raw('-9223372036854775808'), true, [], {},
];
const offsetEdges = [-1, 0, 1, 7, 8, 2 ** 32, 2 ** 53, 2n ** 63n - 1n, 2n ** 63n, 2n ** 64n - 1n, 2n ** 64n, 1.5, '0', null, raw('1e2'), raw('-0')];

/** Tensor pairs (not __metadata__) of a header. */
const tensorIndices = (pairs) => pairs.map((p, i) => (p[0] === '__metadata__' ? -1 : i)).filter((i) => i >= 0);

/** Structural mutations: each edits the header pairs and may grow the data; returns a label. */
const structural = {
  shapeEdge(c, r) {
    const e = pickEntry(c, r);
    if (!e || !Array.isArray(e.shape)) return 'shapeEdge:none';
    const v = r.pick(dimEdges);
    const how = r.int(3);
    if (how === 0 && e.shape.length) e.shape[r.int(e.shape.length)] = v;
    else if (how === 1) e.shape.push(v);
    else e.shape = [v];
    return `shapeEdge(${serialise(v)})`;
  },
  overflowShape(c, r) {
    const e = pickEntry(c, r);
    if (!e) return 'overflowShape:none';
    // numel × size = 2^64 + span: the product wraps to a small, plausible span.
    const known = [
      { dtype: 'I64', shape: [2305843009213720412n, 1n], span: 211680 },
      { dtype: 'F32', shape: [4611686018427388444n], span: 2160 },
    ];
    let choice;
    if (r.chance(0.4)) {
      choice = r.pick(known);
    } else {
      const dtype = r.pick(['F32', 'I64', 'F64', 'I32', 'BF16', 'F16', 'I16']);
      const size = BigInt(dtypeSizes[dtype]);
      const k = BigInt(1 + r.int(512));
      const numel = 2n ** 64n / size + k;
      const shape = numel % 2n === 0n && r.chance(0.5) ? [numel / 2n, 2n] : r.chance(0.3) ? [1n, numel, 1n] : [numel];
      choice = { dtype, shape, span: Number(k * size) };
    }
    e.dtype = choice.dtype;
    e.shape = choice.shape;
    const begin = c.data.length;
    c.data = Buffer.concat([c.data, Buffer.alloc(choice.span, r.int(256))]);
    e.data_offsets = [begin, begin + choice.span];
    return `overflowShape(${choice.dtype} [${choice.shape.join(', ')}])`;
  },
  offsetsEdge(c, r) {
    const e = pickEntry(c, r);
    if (!e || !Array.isArray(e.data_offsets)) return 'offsetsEdge:none';
    const how = r.int(6);
    if (how === 0) e.data_offsets[r.int(2)] = r.pick(offsetEdges);
    else if (how === 1) e.data_offsets = [e.data_offsets[1], e.data_offsets[0]];
    else if (how === 2) e.data_offsets = e.data_offsets.map((x) => (typeof x === 'number' ? x + (r.chance(0.5) ? 1 : -1) : x));
    else if (how === 3) {
      const other = pickEntry(c, r);
      if (other && Array.isArray(other.data_offsets)) e.data_offsets = [...other.data_offsets];
    } else if (how === 4) e.data_offsets = [c.data.length, c.data.length + 1];
    else e.data_offsets = r.chance(0.5) ? [0] : [0, 0, 0];
    return `offsetsEdge(${how})`;
  },
  dtypeEdge(c, r) {
    const e = pickEntry(c, r);
    if (!e) return 'dtypeEdge:none';
    const v = r.pick([...Object.keys(dtypeSizes), 'f32', 'F8_E4M3', 'U16', 'U32', 'U64', 'C64', '', 123, null, ['F32']]);
    e.dtype = v;
    return `dtypeEdge(${serialise(v)})`;
  },
  renameEdge(c, r) {
    const idx = tensorIndices(c.pairs);
    if (!idx.length) return 'renameEdge:none';
    const i = r.pick(idx);
    const other = c.pairs[r.pick(idx)][0];
    const v = r.pick(['__proto__', '__metadata__', '', 'constructor', 'toString', 'hasOwnProperty', '0', '4294967295', 'a\u0000b', other,
      'x'.repeat(10000), raw('"\\udc00"'), raw('"\\ud800"'), raw('"\\ud800\\u0041"'), raw('"\\q"'), raw('"\\u00zz"'), 'é🙂', '\u2028']);
    c.pairs[i][0] = v;
    return `renameEdge(${typeof v === 'object' ? v.__raw : JSON.stringify(v).slice(0, 20)})`;
  },
  entryShape(c, r) {
    const idx = tensorIndices(c.pairs);
    if (!idx.length) return 'entryShape:none';
    const i = r.pick(idx);
    const e = c.pairs[i][1];
    const how = r.int(7);
    if (how === 0) delete e[r.pick(['dtype', 'shape', 'data_offsets'])];
    else if (how === 1) e[r.pick(['dtype', 'shape', 'data_offsets'])] = r.pick([{}, 'x', 7, null, [[1]], [1, [2]]]);
    else if (how === 2) c.pairs[i][1] = r.pick([[], 'x', 7, null, true]);
    else if (how === 3) e.extra = { a: [1, 2, 3] };
    else if (how === 4) e.shape = new Array(r.pick([16, 17, 64, 1000])).fill(1);
    else if (how === 5) e.shape = [];
    else e.data_offsets = [0, 0];
    return `entryShape(${how})`;
  },
  metadataEdge(c, r) {
    let m = c.pairs.find((p) => p[0] === '__metadata__');
    if (!m) {
      m = ['__metadata__', {}];
      c.pairs.unshift(m);
    }
    const how = r.int(7);
    if (how === 0) m[1] = r.pick([[], 'x', 7, null]);
    else if (how === 1 && m[1] && typeof m[1] === 'object') m[1].k = r.pick([1, null, {}, [], true]);
    else if (how === 2) m[1] = { __pairs: [['__proto__', 'x']] };
    else if (how === 3) m[1] = { __pairs: [['k', 'a'], ['k', 'b']] };
    else if (how === 4) c.pairs.push(['__metadata__', {}]);
    else if (how === 5) m[1] = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`k${i}`, 'v']));
    else c.pairs.splice(c.pairs.indexOf(m), 1);
    return `metadataEdge(${how})`;
  },
  duplicateTensor(c, r) {
    const idx = tensorIndices(c.pairs);
    if (!idx.length) return 'duplicateTensor:none';
    const p = c.pairs[r.pick(idx)];
    c.pairs.splice(r.int(c.pairs.length + 1), 0, [p[0], r.chance(0.5) ? p[1] : { dtype: 'U8', shape: [0], data_offsets: [0, 0] }]);
    return `duplicateTensor(${JSON.stringify(p[0]).slice(0, 20)})`;
  },
  manyTensors(c, r) {
    // Rare and large: the tensor-count limit (65536) and around it.
    const n = r.chance(0.9) ? r.pick([100, 1000, 5000]) : r.pick([65535, 65537, 70000]);
    for (let i = 0; i < n; i++) c.pairs.push([`m${i}`, { dtype: 'F32', shape: [0, 4], data_offsets: [0, 0] }]);
    return `manyTensors(${n})`;
  },
  deepNesting(c, r) {
    const depth = r.pick([15, 16, 17, 100, 10000]);
    const e = pickEntry(c, r);
    const nested = raw('['.repeat(depth) + ']'.repeat(depth));
    if (e) e.shape = nested;
    else c.pairs.push(['deep', nested]);
    return `deepNesting(${depth})`;
  },
  wholeHeader(c, r) {
    const v = r.pick(['[]', 'null', '"x"', '7', '{}', '{"a":{}}', '']);
    c.pairs = [];
    c.rawHeader = v;
    return `wholeHeader(${v})`;
  },
};

function pickEntry(c, r) {
  const idx = tensorIndices(c.pairs);
  if (!idx.length) return null;
  const e = c.pairs[r.pick(idx)][1];
  return e && typeof e === 'object' && !Array.isArray(e) ? e : null;
}

/** Byte-level mutations of the assembled file; each returns [bytes, label]. */
const byteLevel = {
  bitFlips(b, r) {
    const out = Buffer.from(b);
    const n = 1 + r.int(8);
    const headerEnd = Math.min(out.length, 8 + Number(out.length >= 8 ? out.readBigUInt64LE(0) & 0xffffffn : 0n));
    for (let i = 0; i < n && out.length; i++) {
      const pos = r.chance(0.7) && headerEnd > 0 ? r.int(headerEnd) : r.int(out.length);
      out[pos] ^= 1 << r.int(8);
    }
    return [out, `bitFlips(${n})`];
  },
  setBytes(b, r) {
    const out = Buffer.from(b);
    const n = 1 + r.int(4);
    for (let i = 0; i < n && out.length; i++) out[r.int(out.length)] = r.pick([0, 0xff, 0x7f, 0x80, 0x22, 0x5c, 0x7b, 0x7d, 0x2c, 0x3a, 0x30, 0x39, 0x2d]);
    return [out, `setBytes(${n})`];
  },
  truncate(b, r) {
    const at = r.pick([() => r.int(Math.min(b.length, 16)), () => r.int(b.length), () => b.length - 1 - r.int(Math.min(b.length, 64))])();
    return [b.subarray(0, Math.max(0, at)), `truncate(${at})`];
  },
  append(b, r) {
    const extra = Buffer.alloc(1 + r.int(4096));
    for (let i = 0; i < extra.length; i++) extra[i] = r.int(256);
    return [Buffer.concat([b, extra]), `append(${extra.length})`];
  },
  headerLength(b, r) {
    if (b.length < 8) return [b, 'headerLength:short'];
    const out = Buffer.from(b);
    const len = out.readBigUInt64LE(0);
    const size = BigInt(out.length);
    const v = r.pick([0n, 1n, 2n, 7n, len - 1n, len + 1n, len + 8n, len - 8n, size - 8n, size - 7n, size, 2n ** 32n, 100000000n, 100000001n,
      2n ** 63n, 2n ** 64n - 1n, BigInt(r.int(2 ** 31))]);
    out.writeBigUInt64LE(((v % 2n ** 64n) + 2n ** 64n) % 2n ** 64n, 0);
    return [out, `headerLength(${v})`];
  },
  headerText(b, r) {
    if (b.length < 9) return [b, 'headerText:short'];
    const len = Number(b.readBigUInt64LE(0) & 0xffffffffn);
    const end = Math.min(b.length, 8 + len);
    if (end <= 8) return [b, 'headerText:empty'];
    const pos = 8 + r.int(end - 8);
    const how = r.int(5);
    let insert;
    let remove = 0;
    if (how === 0) insert = Buffer.from(r.pick(['"', '\\', '{', '}', '[', ']', ',', ':', '-', '0', 'e', ' ', '\u0000', '\n']));
    else if (how === 1) { insert = Buffer.alloc(0); remove = 1 + r.int(4); }
    else if (how === 2) insert = Buffer.from(r.pick([[0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82], [0x80], [0xf0, 0x9f, 0x99, 0x82]]));
    else if (how === 3) { insert = Buffer.from(r.pick(['\\u0000', '\\udc00', '\\ud800', '\\u', '\\x'])); }
    else { insert = Buffer.from(String(r.pick(['9223372036854775807', '9223372036854775808', '18446744073709551616', '1e999', '-1', '0.5']))); remove = 1; }
    const body = Buffer.concat([b.subarray(8, pos), insert, b.subarray(Math.min(end, pos + remove), end)]);
    const length = Buffer.alloc(8);
    // Usually keep the header length right, so the JSON parser (not the length check) meets the edit.
    length.writeBigUInt64LE(BigInt(r.chance(0.8) ? body.length : len));
    return [Buffer.concat([length, body, b.subarray(end)]), `headerText(${how}@${pos})`];
  },
};

/** Case `index` of `seed`: the bytes and the list of mutations that made them. */
function makeCase(seeds, seed, index) {
  const r = rngFor(seed, index);
  const seedFile = r.pick(seeds);
  const ops = [`seed=${seedFile.name}`];
  const c = { ...parseSeed(seedFile.bytes), rawHeader: null };
  const nStructural = r.chance(0.6) ? 1 + r.int(2) : 0;
  const weights = [
    ['shapeEdge', 6], ['overflowShape', 6], ['offsetsEdge', 5], ['dtypeEdge', 4], ['renameEdge', 4], ['entryShape', 4],
    ['metadataEdge', 3], ['duplicateTensor', 3], ['manyTensors', 0.3], ['deepNesting', 1], ['wholeHeader', 0.5],
  ];
  const total = weights.reduce((s, [, w]) => s + w, 0);
  for (let i = 0; i < nStructural; i++) {
    let x = r.next() * total;
    const name = weights.find(([, w]) => (x -= w) < 0)?.[0] ?? 'shapeEdge';
    // Entries are shared with the seed's parsed copy only: parseSeed makes a fresh one per case.
    ops.push(structural[name](c, r));
  }
  let bytes;
  if (c.rawHeader !== null) {
    const json = Buffer.from(c.rawHeader);
    const length = Buffer.alloc(8);
    length.writeBigUInt64LE(BigInt(json.length));
    bytes = Buffer.concat([length, json, c.data]);
  } else {
    bytes = assemble(c.pairs, c.data, r.chance(0.7));
  }
  const nBytes = nStructural === 0 ? 1 + r.int(3) : r.int(2);
  const byteOps = Object.keys(byteLevel);
  for (let i = 0; i < nBytes; i++) {
    const [out, label] = byteLevel[r.pick(byteOps)](bytes, r);
    bytes = out;
    ops.push(label);
  }
  return { bytes, ops };
}

module.exports = { makeCase, rngFor, serialise };
