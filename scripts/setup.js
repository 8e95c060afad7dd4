#!/usr/bin/env node
'use strict';
// Builds the native addon: the package's `install` script and `npm run build:native`.
//
//   node scripts/setup.js            incremental cmake-js build (fast when nothing changed)
//   node scripts/setup.js --rebuild  clean build
//
// Steps: find LibTorch (scripts/find-libtorch.js), installing Debian's libtorch-dev with apt
// when nothing is found and we may (root on a Debian-like system); use the prebuilt addon of the
// package tarball (prebuilds/, put there by scripts/prebuild.js when the package is packed) if
// it was built against this very LibTorch and works; otherwise build with cmake-js in parallel
// (ccache when present; a unity build, IMLM_UNITY=0 for file by file) and check that the result
// loads. Nothing is downloaded except Debian packages through apt.

const fs = require('fs');
const os = require('os');
const path = require('path');
const childProcess = require('child_process');
const { findLibTorch, notFoundMessage } = require('./find-libtorch');
const { canUseApt, aptInstall } = require('./apt');

const root = path.resolve(__dirname, '..');
const args = process.argv.slice(2);

function log(message) {
  process.stderr.write(`imlm-native: ${message}\n`);
}

function fail(message) {
  process.stderr.write(`\nimlm-native: ${message}\n`);
  process.exit(1);
}

function has(program) {
  return childProcess.spawnSync('sh', ['-c', `command -v ${program}`], { stdio: 'ignore' }).status === 0;
}

/** Loads the addon in a child process (a crash there must not take this script down). */
function addonLoads() {
  const probe = `require(${JSON.stringify(require.resolve('node-gyp-build'))})(${JSON.stringify(root)})`;
  const r = childProcess.spawnSync(process.execPath, ['-e', probe], { encoding: 'utf8' });
  return { ok: r.status === 0, error: (r.stderr || '').trim().split('\n').slice(-3).join('\n') };
}

/**
 * Whether the prebuilt addon (prebuilds/) can be used with `torch`, the LibTorch found here:
 * tried in a fresh process (a crash must not take this script down) that loads it from
 * prebuilds/ alone, round-trips a tensor and asks info(); the LibTorch it was built against and
 * the one it loaded must both be `torch` (same version, library in torch's lib folder). A
 * prebuild for another LibTorch often loads all the same (or fails only later), hence the check.
 */
function prebuildUsable(torch) {
  const probe = `
    const b = require(${JSON.stringify(require.resolve('node-gyp-build'))})(${JSON.stringify(root)});
    const t = new b.Tensor(new Float32Array([1.5, -2, 3]), [3]);
    if (Array.from(t.toTypedArray()).join() !== '1.5,-2,3') throw new Error('tensor round trip failed');
    b.info().then((i) => process.stdout.write(JSON.stringify(i.libtorch)));`;
  const r = childProcess.spawnSync(process.execPath, ['-e', probe], {
    encoding: 'utf8',
    env: { ...process.env, PREBUILDS_ONLY: '1' },
  });
  if (r.status !== 0) {
    const lines = (r.stderr || '').split('\n');
    const error = lines.find((l) => /Error/.test(l)) || lines.filter(Boolean).slice(-1)[0] || `exit status ${r.status}`;
    return { ok: false, why: `it does not work here (${error.trim()})` };
  }
  let lt;
  try {
    lt = JSON.parse(r.stdout);
  } catch {
    return { ok: false, why: 'its info() gave no answer' };
  }
  const real = (p) => (p && fs.existsSync(p) ? fs.realpathSync(p) : p);
  if (lt.version !== torch.version) return { ok: false, why: `it was built against LibTorch ${lt.version}, not ${torch.version}` };
  if (!torch.libDir || !lt.libraryPath || path.dirname(real(lt.libraryPath)) !== real(torch.libDir)) {
    return { ok: false, why: `it loaded LibTorch from ${lt.libraryPath || '?'}, not from ${torch.libDir}` };
  }
  return { ok: true };
}

function aptInstallLogged(packages) {
  log(`installing ${packages.join(' ')} with apt-get`);
  return aptInstall(packages);
}

function ensureBuildTools() {
  const missing = [];
  if (!has('cmake')) missing.push('cmake');
  if (!has('g++') && !has('c++')) missing.push('g++');
  if (!has('make') && !has('ninja')) missing.push('make');
  if (missing.length === 0) return;
  if (canUseApt() && aptInstallLogged(missing)) return;
  fail(`building needs ${missing.join(', ')}; install them (Debian/Ubuntu: sudo apt-get install ${missing.join(' ')}).`);
}

function locateLibTorch() {
  const notes = [];
  let found = findLibTorch(undefined, notes);
  if (!found && canUseApt()) {
    log('no LibTorch found; installing Debian\'s libtorch-dev (and libgloo-dev, the headers its c10d Gloo process group needs)');
    if (aptInstallLogged(['libtorch-dev', 'libgloo-dev'])) found = findLibTorch(undefined, []);
  }
  // Debian's LibTorch has ProcessGroupGloo but its headers include gloo's, packaged apart;
  // without them the addon builds without distributed training on the CPU (docs/distributed.md).
  if (found && !fs.existsSync('/usr/include/gloo/algorithm.h') && found.torchDir.startsWith('/usr/') && canUseApt()) {
    aptInstallLogged(['libgloo-dev']);
  }
  if (!found) fail(notFoundMessage(notes));
  log(`LibTorch ${found.version} (${found.source}) at ${found.torchDir}${found.cuda ? ' [CUDA]' : ''}`);
  return found;
}

function buildWithCmakeJs(torch, clean) {
  const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
  const command = clean ? 'rebuild' : 'compile';
  const cmakeArgs = [
    cmakeJs,
    command,
    '--directory', root,
    '--parallel', String(Math.max(1, os.availableParallelism ? os.availableParallelism() : os.cpus().length)),
    `--CDTorch_DIR=${torch.torchDir}`,
    `--CDIMLM_LIBTORCH_VERSION=${torch.version}`,
    `--CDIMLM_LIBTORCH_SOURCE=${torch.source}`,
    `--CDIMLM_UNITY=${process.env.IMLM_UNITY === '0' ? 'OFF' : 'ON'}`,
  ];
  if (process.env.IMLM_DEBUG_BUILD === '1') cmakeArgs.push('--debug');
  log(`building the addon with cmake-js ${command} (a first build takes a few minutes)`);
  const r = childProcess.spawnSync(process.execPath, cmakeArgs, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    fail(
      'the native build failed (output above). Possible solutions:\n' +
        '  - make sure g++ >= 9 and cmake >= 3.19 are installed\n' +
        '  - point the build at another LibTorch: LIBTORCH=/path/to/libtorch npm rebuild imlm-native\n' +
        '  - rebuild from scratch: npm run build:native -- --rebuild',
    );
  }
}

function main() {
  if (process.env.IMLM_SKIP_BUILD === '1') {
    log('IMLM_SKIP_BUILD=1: not building the addon');
    return;
  }
  const rebuild = args.includes('--rebuild');
  const torch = locateLibTorch();
  // Only where nothing was built yet (an install from the tarball): a checkout that has built
  // keeps building, so that a prebuild left in prebuilds/ never hides an edit.
  const built = fs.existsSync(path.join(root, 'build', 'Release', 'imlm.node'));
  if (!rebuild && !built && fs.existsSync(path.join(root, 'prebuilds'))) {
    const prebuild = prebuildUsable(torch);
    if (prebuild.ok) {
      log(`using the prebuilt addon (prebuilds/, built against LibTorch ${torch.version})`);
      return;
    }
    log(`not using the prebuilt addon: ${prebuild.why}; building instead`);
  }
  ensureBuildTools();
  buildWithCmakeJs(torch, rebuild);
  const loaded = addonLoads();
  if (!loaded.ok) fail(`the addon was built but does not load:\n${loaded.error}`);
}

main();
