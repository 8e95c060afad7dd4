'use strict';
// A fuzzer child: runs cases [from, to) of a seed through the public API and reports each on
// stdout, synchronously, so that the parent (scripts/fuzz/run.js) knows which case was running
// if this process dies:
//   B <case>            before the case
//   E <case> <json>     after it: { outcome: 'ok' | 'refused' | 'uncoded' | 'mismatch', code?, detail? }
// Usage (by run.js): node worker.js <seedsDir> <seed> <from> <to> <caseFile>
const fs = require('fs');
const path = require('path');
const { makeCase } = require('./mutate');
const { readSeeds } = require('./seeds');

const { readSafetensors, isImlmError } = require(path.resolve(__dirname, '..', '..', 'dist'));

const say = (line) => fs.writeSync(1, `${line}\n`);

/** Opens `file` in one mode and touches every tensor; returns what happened. */
async function openAndTouch(file, mmap) {
  let content;
  try {
    content = await readSafetensors(file, { mmap });
  } catch (e) {
    return classify(e);
  }
  try {
    const { tensors, metadata } = content;
    if (Object.getPrototypeOf(tensors) !== Object.prototype) throw new Error('tensors object has a changed prototype');
    for (const [key, value] of Object.entries(metadata)) {
      if (typeof value !== 'string') throw new Error(`metadata '${key}' is not a string`);
    }
    let count = 0;
    for (const [name, t] of Object.entries(tensors)) {
      if (!t || typeof t.toTypedArray !== 'function') throw new Error(`tensors['${name}'] is not a Tensor`);
      const shape = t.shape;
      const numel = shape.reduce((a, b) => a * b, 1);
      if (numel !== t.numel) throw new Error(`tensor '${name}': numel ${t.numel} but shape [${shape}]`);
      void t.dtype;
      void t.device;
      const array = t.toTypedArray();
      if (array.length !== t.numel) throw new Error(`tensor '${name}': toTypedArray() has ${array.length} elements, numel ${t.numel}`);
      t.dispose();
      count++;
    }
    return { outcome: 'ok', detail: `${count} tensors` };
  } catch (e) {
    for (const t of Object.values(content.tensors)) if (t && typeof t.dispose === 'function') t.dispose();
    return classify(e);
  }
}

function classify(e) {
  if (isImlmError(e) && typeof e.code === 'string') return { outcome: 'refused', code: e.code, detail: e.message.slice(0, 300) };
  return { outcome: 'uncoded', detail: String((e && e.stack) || e).slice(0, 600) };
}

async function main() {
  const [seedsDir, seedArg, fromArg, toArg, caseFile] = process.argv.slice(2);
  const seeds = readSeeds(seedsDir);
  const seed = Number(seedArg);
  for (let index = Number(fromArg); index < Number(toArg); index++) {
    say(`B ${index}`);
    const { bytes } = makeCase(seeds, seed, index);
    fs.writeFileSync(caseFile, bytes);
    const copied = await openAndTouch(caseFile, false);
    const mapped = await openAndTouch(caseFile, true);
    let result = copied;
    if (copied.outcome === 'uncoded') result = copied;
    else if (mapped.outcome === 'uncoded') result = { ...mapped, detail: `mmap: ${mapped.detail}` };
    else if (copied.outcome !== mapped.outcome || copied.code !== mapped.code) {
      result = { outcome: 'mismatch', detail: `copy: ${copied.outcome} ${copied.code ?? ''} ${copied.detail ?? ''}; mmap: ${mapped.outcome} ${mapped.code ?? ''} ${mapped.detail ?? ''}` };
    }
    say(`E ${index} ${JSON.stringify(result)}`);
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`fuzz worker failed: ${(e && e.stack) || e}\n`);
    process.exit(3);
  },
);
