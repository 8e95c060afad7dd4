#!/usr/bin/env node
'use strict';
// Builds the addon with node-gyp from binding.gyp and checks that it loads and works.
// node-gyp always writes to build/, where the main (cmake-js) build lives, so that build is
// set aside while node-gyp runs and put back afterwards; the node-gyp result is kept in
// build-gyp/. `--keep` leaves the node-gyp build in build/ instead.

const fs = require('fs');
const os = require('os');
const path = require('path');
const childProcess = require('child_process');

const root = path.resolve(__dirname, '..');
const build = path.join(root, 'build');
const saved = path.join(root, 'build-cmake-saved');
const gypOut = path.join(root, 'build-gyp');
const keep = process.argv.includes('--keep');

function run(cmd, args, env) {
  const r = childProcess.spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
  return r.status === 0;
}

function nodeGypArgs() {
  const args = [require.resolve('node-gyp/bin/node-gyp.js'), 'rebuild', `--jobs=${os.cpus().length}`];
  // Build against the headers of the running Node.js when it ships them (no download).
  const nodeDir = path.resolve(path.dirname(process.execPath), '..');
  if (fs.existsSync(path.join(nodeDir, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${nodeDir}`);
  return args;
}

function ccacheEnv() {
  const has = childProcess.spawnSync('sh', ['-c', 'command -v ccache'], { stdio: 'ignore' }).status === 0;
  return has ? { CXX: 'ccache g++', CC: 'ccache gcc' } : {};
}

/** A real check of the result in a fresh process: info, and a tensor round trip. */
const smokeTest = `
const b = require(${JSON.stringify(path.join(build, 'Release', 'imlm.node'))});
const t = new b.Tensor(new Float32Array([1.5, -2, 3]), [3]);
const back = Array.from(t.toTypedArray());
if (back.join() !== '1.5,-2,3') throw new Error('round trip gave ' + back);
b.info().then((i) => { console.log('node-gyp build loads: LibTorch ' + i.libtorch.version + ', built by ' + i.build.system); });
`;

fs.rmSync(saved, { recursive: true, force: true });
if (fs.existsSync(build)) fs.renameSync(build, saved);
let ok = false;
try {
  ok = run(process.execPath, nodeGypArgs(), ccacheEnv()) && run(process.execPath, ['-e', smokeTest]);
} finally {
  if (!keep) {
    fs.rmSync(gypOut, { recursive: true, force: true });
    if (fs.existsSync(build)) fs.renameSync(build, gypOut);
    if (fs.existsSync(saved)) fs.renameSync(saved, build);
  } else {
    fs.rmSync(saved, { recursive: true, force: true });
  }
}
if (!ok) {
  process.stderr.write('imlm-native: the node-gyp build failed (output above)\n');
  process.exit(1);
}
