#!/usr/bin/env node
'use strict';
// Seeded fuzzer of the safetensors readers (docs/reliability.md).
//
//   npm run fuzz -- --cases 10000            cases 0..9999 of seed 1
//   npm run fuzz -- --seed 7 --cases 500     another seed
//   npm run fuzz -- --seed 1 --case 123      replay one case, with its mutations and outcome
//   npm run fuzz -- --seed 1 --case 123 --write-case /tmp/c.safetensors   and keep its file
//
// Options: --cases N (default 1000), --seed S (1), --start K (0), --batch B cases per child
// (250), --jobs J children at a time (1), --timeout-ms T per case (10000), --json (one JSON
// summary line on stdout instead of text).
//
// Each case mutates one of three real files written by the package (scripts/fuzz/seeds.js,
// mutations in scripts/fuzz/mutate.js) and opens it with readSafetensors, copied and
// memory-mapped, touching every tensor (scripts/fuzz/worker.js). Children run batches of cases
// and report each case before and after it, so a crash is pinned on its case and the next child
// starts after it. A case passes when it loads, or fails with an ImlmError (a stable `code`) the
// same way in both modes. Exit status 1 on any crash, hang, error without a code or mismatch.
const childProcess = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { makeCase } = require('./mutate');
const { writeSeeds } = require('./seeds');

function parseArgs(argv) {
  const o = { cases: 1000, seed: 1, start: 0, batch: 250, jobs: 1, timeoutMs: 10000, json: false, replay: null, writeCase: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const num = () => {
      const v = Number(argv[++i]);
      if (!Number.isInteger(v) || v < 0) fail(`expected a non-negative integer after ${a}, received '${argv[i]}'`);
      return v;
    };
    if (a === '--cases') o.cases = num();
    else if (a === '--seed') o.seed = num();
    else if (a === '--start') o.start = num();
    else if (a === '--batch') o.batch = Math.max(1, num());
    else if (a === '--jobs') o.jobs = Math.max(1, num());
    else if (a === '--timeout-ms') o.timeoutMs = Math.max(1, num());
    else if (a === '--case') o.replay = num();
    else if (a === '--write-case') o.writeCase = argv[++i];
    else if (a === '--json') o.json = true;
    else fail(`unknown option '${a}' (see the head of scripts/fuzz/run.js)`);
  }
  return o;
}

function fail(message) {
  process.stderr.write(`fuzz: ${message}\n`);
  process.exit(2);
}

/**
 * Runs cases [from, to) in one child. Resolves with the results it reported and, when the child
 * died or hung in a case, that case (its result recorded as a crash or hang).
 */
function runChild(o, seedsDir, from, to, slot) {
  return new Promise((resolve) => {
    const caseFile = path.join(seedsDir, `case-${slot}.safetensors`);
    const child = childProcess.spawn(process.execPath, [path.join(__dirname, 'worker.js'), seedsDir, String(o.seed), String(from), String(to), caseFile], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const results = new Map();
    let current = null;
    let pending = '';
    let stderr = '';
    let timer = null;
    let hung = false;
    // The first case also waits for the addon to load; later ones get the per-case timeout.
    const arm = (ms) => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        hung = true;
        child.kill('SIGKILL');
      }, ms);
    };
    arm(o.timeoutMs + 60000);
    child.stdout.on('data', (chunk) => {
      pending += chunk;
      let nl;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        if (line.startsWith('B ')) {
          current = Number(line.slice(2));
          arm(o.timeoutMs);
        } else if (line.startsWith('E ')) {
          const space = line.indexOf(' ', 2);
          results.set(Number(line.slice(2, space)), JSON.parse(line.slice(space + 1)));
          current = null;
        }
      }
    });
    child.stderr.on('data', (chunk) => {
      stderr = (stderr + chunk).slice(-2000);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      let failedCase = null;
      if (current !== null) {
        failedCase = current;
        results.set(current, hung
          ? { outcome: 'hang', detail: `no result within ${o.timeoutMs} ms` }
          : { outcome: 'crash', detail: `child died (${signal ?? `exit ${code}`}): ${stderr.trim().split('\n').slice(-4).join(' | ')}` });
      } else if (code !== 0 && results.size < to - from) {
        // Died between cases (e.g. loading the addon): nothing to pin it on; report it as such.
        failedCase = from + results.size;
        results.set(failedCase, { outcome: 'crash', detail: `child died outside a case (${signal ?? `exit ${code}`}): ${stderr.trim().split('\n').slice(-4).join(' | ')}` });
      }
      resolve({ results, failedCase });
    });
  });
}

async function runAll(o, seedsDir) {
  const end = o.start + o.cases;
  const queue = [];
  for (let from = o.start; from < end; from += o.batch) queue.push([from, Math.min(end, from + o.batch)]);
  const results = new Map();
  const worker = async (slot) => {
    while (queue.length) {
      const [from, to] = queue.shift();
      const r = await runChild(o, seedsDir, from, to, slot);
      for (const [k, v] of r.results) results.set(k, v);
      // Restart after the failed case: the rest of the batch goes back to the front.
      const next = r.failedCase === null ? to : r.failedCase + 1;
      const missing = [...Array(to - from).keys()].map((i) => from + i).find((i) => i >= next && !results.has(i));
      if (missing !== undefined && missing < to) queue.unshift([missing, to]);
    }
  };
  await Promise.all(Array.from({ length: o.jobs }, (_, i) => worker(i)));
  return results;
}

function summarise(o, results, seconds) {
  const counts = { cases: results.size, ok: 0, refused: 0, uncoded: 0, crash: 0, hang: 0, mismatch: 0 };
  const codes = {};
  const failures = [];
  for (const [index, r] of [...results].sort((a, b) => a[0] - b[0])) {
    counts[r.outcome]++;
    if (r.outcome === 'refused') codes[r.code] = (codes[r.code] ?? 0) + 1;
    if (!['ok', 'refused'].includes(r.outcome)) failures.push({ seed: o.seed, case: index, outcome: r.outcome, detail: r.detail });
  }
  return { seed: o.seed, start: o.start, seconds: Math.round(seconds * 10) / 10, ...counts, codes, failures: failures.slice(0, 10), failed: failures.length };
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'imlm-fuzz-'));
  try {
    const seeds = await writeSeeds(dir);
    if (o.replay !== null) {
      const { bytes, ops } = makeCase(seeds, o.seed, o.replay);
      if (o.writeCase) fs.writeFileSync(o.writeCase, bytes);
      const r = await runChild(o, dir, o.replay, o.replay + 1, 0);
      const result = r.results.get(o.replay);
      const line = { seed: o.seed, case: o.replay, bytes: bytes.length, mutations: ops, ...result };
      process.stdout.write(o.json ? `${JSON.stringify(line)}\n` : `${Object.entries(line).map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(', ') : v}`).join('\n')}\n`);
      return ['ok', 'refused'].includes(result.outcome) ? 0 : 1;
    }
    const t0 = process.hrtime.bigint();
    const results = await runAll(o, dir);
    const s = summarise(o, results, Number(process.hrtime.bigint() - t0) / 1e9);
    if (o.json) {
      process.stdout.write(`${JSON.stringify(s)}\n`);
    } else {
      const codes = Object.entries(s.codes).map(([k, v]) => `${k} ${v}`).join(', ');
      process.stdout.write(
        `fuzz: seed ${s.seed}, cases ${s.start}..${s.start + s.cases - 1} (${s.cases}) in ${s.seconds} s\n` +
          `  ok ${s.ok}, refused with a code ${s.refused}${codes ? ` (${codes})` : ''}, errors without a code ${s.uncoded}, ` +
          `crashes ${s.crash}, hangs ${s.hang}, copy/mmap mismatches ${s.mismatch}\n`,
      );
      for (const f of s.failures) {
        process.stdout.write(`  FAIL ${f.outcome}: replay with \`npm run fuzz -- --seed ${f.seed} --case ${f.case}\`: ${f.detail}\n`);
      }
    }
    return s.failed > 0 ? 1 : 0;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`fuzz: ${(e && e.stack) || e}\n`);
    process.exit(2);
  },
);
