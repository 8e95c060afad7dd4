#!/usr/bin/env node
'use strict';
// The package's `prepack` and `postpack` scripts: puts the addon built here into the tarball.
//
//   node scripts/prebuild.js          brings build/Release/imlm.node up to date (scripts/setup.js,
//                                     incremental) and copies it to
//                                     prebuilds/<platform>-<arch>/node.napi.glibc.node
//   node scripts/prebuild.js --clean  removes prebuilds/ again (after packing)
//
// At install, scripts/setup.js uses that file only when it was built against the LibTorch the
// machine has (same version, loaded from that LibTorch's lib folder) and works in a fresh
// process; otherwise it compiles as before. IMLM_NO_PREBUILD=1 packs without a prebuild.

const fs = require('fs');
const path = require('path');
const childProcess = require('child_process');

const root = path.resolve(__dirname, '..');
const prebuilds = path.join(root, 'prebuilds');

function log(message) {
  process.stderr.write(`imlm-native: ${message}\n`);
}

fs.rmSync(prebuilds, { recursive: true, force: true });
if (process.argv.includes('--clean')) process.exit(0);
if (process.env.IMLM_NO_PREBUILD === '1') {
  log('IMLM_NO_PREBUILD=1: packing without a prebuilt addon');
  process.exit(0);
}
if (process.platform !== 'linux') {
  log(`no prebuilt addon for ${process.platform} (node-gyp-build names it for glibc Linux only here)`);
  process.exit(0);
}

const setup = childProcess.spawnSync(process.execPath, [path.join(__dirname, 'setup.js')], { cwd: root, stdio: 'inherit' });
if (setup.status !== 0) process.exit(setup.status || 1);
const built = path.join(root, 'build', 'Release', 'imlm.node');
const dir = path.join(prebuilds, `${process.platform}-${process.arch}`);
fs.mkdirSync(dir, { recursive: true });
// node-gyp-build's tags: any Node.js with Node-API (the addon asks for version 8), glibc.
fs.copyFileSync(built, path.join(dir, 'node.napi.glibc.node'));
log(`prebuilt addon for the tarball: ${path.relative(root, dir)}/node.napi.glibc.node`);
