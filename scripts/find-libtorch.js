#!/usr/bin/env node
'use strict';
// Finds the LibTorch to build against. Used by scripts/setup.js (cmake-js build), by
// CMakeLists.txt when no Torch_DIR is given, and by binding.gyp (node-gyp build), so the two
// builds can never disagree about which LibTorch they link.
//
// Order (first hit wins):
//   1. LIBTORCH (a LibTorch root), Torch_DIR (the folder holding TorchConfig.cmake),
//      CMAKE_PREFIX_PATH (a ':'-separated list of prefixes) given by the user;
//   2. the LibTorch inside an installed PyTorch (torch.utils.cmake_prefix_path): the usual case
//      on CUDA servers, CUDA build included;
//   3. the system's LibTorch (Debian/Ubuntu `libtorch-dev`).
// Nothing here downloads anything.
//
// Every probe of the outside world goes through `io`, so tests can fake a whole machine.

const fs = require('fs');
const path = require('path');
const childProcess = require('child_process');

/** Where a TorchConfig.cmake may sit below a prefix. */
const kConfigSubdirs = [
  'share/cmake/Torch',
  'Torch', // torch.utils.cmake_prefix_path is <site-packages>/torch/share/cmake
  'lib/cmake/Torch',
  'lib/x86_64-linux-gnu/cmake/Torch',
  'lib/aarch64-linux-gnu/cmake/Torch',
  'lib64/cmake/Torch',
];

/** Where distributions put LibTorch's CMake config (Debian/Ubuntu multiarch first). */
const kSystemTorchDirs = [
  '/usr/lib/x86_64-linux-gnu/cmake/Torch',
  '/usr/lib/aarch64-linux-gnu/cmake/Torch',
  '/usr/lib/cmake/Torch',
  '/usr/lib64/cmake/Torch',
  '/usr/local/lib/cmake/Torch',
  '/usr/local/share/cmake/Torch',
  '/usr/share/cmake/Torch',
];

const defaultIo = {
  env: process.env,
  exists: (p) => fs.existsSync(p),
  readFile: (p) => fs.readFileSync(p, 'utf8'),
  /** Runs a program; returns its stdout, or null when it fails or does not exist. */
  run: (cmd, args) => {
    try {
      const r = childProcess.spawnSync(cmd, args, { encoding: 'utf8', timeout: 60000 });
      return r.status === 0 ? r.stdout : null;
    } catch {
      return null;
    }
  },
};

const kPythonProbe = [
  'import json, torch, torch.utils',
  'print(json.dumps({"cmake_prefix_path": torch.utils.cmake_prefix_path,',
  '  "version": torch.__version__, "cuda": torch.version.cuda,',
  '  "cxx11abi": bool(torch._C._GLIBCXX_USE_CXX11_ABI)}))',
].join('\n');

function torchConfigDirUnder(prefix, io) {
  for (const sub of kConfigSubdirs) {
    const dir = path.join(prefix, sub);
    if (io.exists(path.join(dir, 'TorchConfig.cmake'))) return dir;
  }
  return null;
}

/** The folder holding libtorch.so for a Torch CMake config folder (several layouts exist). */
function libDirFor(torchDir, prefix, io) {
  const candidates = [
    path.join(prefix, 'lib'),
    path.resolve(torchDir, '..', '..'), // Debian: <multiarch lib>/cmake/Torch
    path.join(prefix, 'lib64'),
  ];
  return candidates.find((d) => io.exists(path.join(d, 'libtorch.so'))) || null;
}

/**
 * The install prefix (holding include/): three levels above TorchConfig.cmake in LibTorch and
 * PyTorch (<prefix>/share/cmake/Torch), four on Debian (<prefix>/lib/<multiarch>/cmake/Torch).
 */
function prefixFor(torchDir, io) {
  const candidates = [path.resolve(torchDir, '../../..'), path.resolve(torchDir, '../../../..')];
  const hasHeaders = (p) => io.exists(path.join(p, 'include/torch/csrc/api/include/torch/version.h'));
  return candidates.find(hasHeaders) || candidates[0];
}

function headerVersion(includeDir, io) {
  const file = path.join(includeDir, 'torch/csrc/api/include/torch/version.h');
  if (!io.exists(file)) return null;
  const m = /#define\s+TORCH_VERSION\s*\\?\s*"([^"]+)"/.exec(io.readFile(file));
  return m ? m[1] : null;
}

/** Fills in the include/lib folders, version and flavour of a LibTorch found at torchDir. */
function describe(torchDir, source, io, extra = {}) {
  const prefix = prefixFor(torchDir, io);
  const includeDir = path.join(prefix, 'include');
  const libDir = libDirFor(torchDir, prefix, io);
  const cuda = !!libDir && io.exists(path.join(libDir, 'libtorch_cuda.so'));
  let version = extra.version || null;
  if (!version && io.exists(path.join(prefix, 'build-version'))) {
    version = io.readFile(path.join(prefix, 'build-version')).trim(); // LibTorch zip archives
  }
  if (!version && source === 'system') {
    // Debian's 1.13.1 headers still say 1.13.0: the package version is the truthful one.
    const dpkg = io.run('dpkg-query', ['-W', '-f', '${Version}', 'libtorch-dev']);
    const m = dpkg && /^(\d+\.\d+\.\d+)/.exec(dpkg.trim());
    if (m) version = m[1];
  }
  const hv = headerVersion(includeDir, io);
  return {
    source,
    torchDir,
    prefix,
    includeDirs: [includeDir, path.join(includeDir, 'torch/csrc/api/include')],
    libDir,
    version: version || hv || 'unknown',
    headerVersion: hv || 'unknown',
    cuda,
    cxx11abi: extra.cxx11abi === undefined ? true : extra.cxx11abi,
  };
}

function pythonCandidates(env) {
  const list = [env.PYTHON, 'python3', '/usr/bin/python3'].filter(Boolean);
  return [...new Set(list)];
}

/**
 * Returns a description of the LibTorch to use, or null. `notes` collects why candidates were
 * passed over, for the error message.
 */
function findLibTorch(io = defaultIo, notes = []) {
  const env = io.env;
  if (env.LIBTORCH) {
    const dir = torchConfigDirUnder(env.LIBTORCH, io);
    if (dir) return describe(dir, 'env:LIBTORCH', io);
    notes.push(`LIBTORCH=${env.LIBTORCH} has no share/cmake/Torch/TorchConfig.cmake`);
  }
  if (env.Torch_DIR) {
    if (io.exists(path.join(env.Torch_DIR, 'TorchConfig.cmake'))) {
      return describe(env.Torch_DIR, 'env:Torch_DIR', io);
    }
    notes.push(`Torch_DIR=${env.Torch_DIR} holds no TorchConfig.cmake`);
  }
  if (env.CMAKE_PREFIX_PATH) {
    for (const prefix of env.CMAKE_PREFIX_PATH.split(path.delimiter).filter(Boolean)) {
      const dir = torchConfigDirUnder(prefix, io);
      if (dir) return describe(dir, 'env:CMAKE_PREFIX_PATH', io);
    }
    notes.push(`no TorchConfig.cmake under CMAKE_PREFIX_PATH=${env.CMAKE_PREFIX_PATH}`);
  }
  for (const python of pythonCandidates(env)) {
    const out = io.run(python, ['-c', kPythonProbe]);
    if (!out) continue;
    let probe;
    try {
      probe = JSON.parse(out.trim().split('\n').pop());
    } catch {
      continue;
    }
    const dir = path.join(probe.cmake_prefix_path, 'Torch');
    if (io.exists(path.join(dir, 'TorchConfig.cmake'))) {
      return describe(dir, 'pytorch', io, { version: probe.version, cxx11abi: probe.cxx11abi });
    }
    notes.push(`${python}: PyTorch ${probe.version} ships no CMake config (${dir})`);
  }
  for (const dir of kSystemTorchDirs) {
    if (io.exists(path.join(dir, 'TorchConfig.cmake'))) return describe(dir, 'system', io);
  }
  return null;
}

/** What to tell a user when nothing was found. */
function notFoundMessage(notes = []) {
  return [
    'imlm-native: no LibTorch found.',
    ...notes.map((n) => `  - ${n}`),
    'Fix one of:',
    '  - Debian/Ubuntu: sudo apt-get install libtorch-dev   (CPU LibTorch)',
    '  - a CUDA server with PyTorch: make `python3 -c "import torch"` work, or set PYTHON=/path/to/python',
    '  - a LibTorch folder you already have: export LIBTORCH=/path/to/libtorch (or Torch_DIR=<dir with TorchConfig.cmake>)',
    'then run `npm rebuild imlm-native` (or `npm install` in this repository).',
  ].join('\n');
}

module.exports = { findLibTorch, notFoundMessage, kSystemTorchDirs };

if (require.main === module) {
  // CLI: `node scripts/find-libtorch.js [--json | --field NAME | --gyp FIELD]`
  const notes = [];
  const found = findLibTorch(defaultIo, notes);
  const args = process.argv.slice(2);
  if (!found) {
    process.stderr.write(notFoundMessage(notes) + '\n');
    process.exit(1);
  }
  if (args[0] === '--field') {
    const v = found[args[1]];
    process.stdout.write((Array.isArray(v) ? v.join(';') : String(v)) + '\n');
  } else if (args[0] === '--gyp') {
    // Space-separated words for binding.gyp's <!@(...) expansion.
    const what = args[1];
    const words = {
      include_dirs: found.includeDirs,
      libraries: [
        `-L${found.libDir}`,
        `-Wl,-rpath,${found.libDir}`,
        '-Wl,--no-as-needed',
        ...(found.cuda ? ['-ltorch_cuda', '-lc10_cuda'] : []),
        '-ltorch',
        '-ltorch_cpu',
        '-lc10',
        '-Wl,--as-needed',
      ],
      defines: [
        `_GLIBCXX_USE_CXX11_ABI=${found.cxx11abi ? 1 : 0}`,
        // Single quotes survive gyp's word splitting, so the macros stay string literals.
        `'IMLM_LIBTORCH_VERSION="${found.version}"'`,
        `'IMLM_LIBTORCH_SOURCE="${found.source}"'`,
      ],
    }[what];
    if (!words) {
      process.stderr.write(`unknown --gyp field ${what}\n`);
      process.exit(2);
    }
    process.stdout.write(words.join(' ') + '\n');
  } else {
    process.stdout.write(JSON.stringify(found, null, 2) + '\n');
  }
}
