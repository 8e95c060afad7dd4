// LibTorch discovery order, on faked machines: every probe goes through the `io` argument.
import path from 'path';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { findLibTorch, notFoundMessage } = require('../../scripts/find-libtorch.js');

interface FakeMachine {
  env?: Record<string, string>;
  files?: Record<string, string>;
  /** program → stdout (null: fails) */
  programs?: Record<string, string | null>;
}

function fakeIo(m: FakeMachine) {
  const files = m.files ?? {};
  const runs: string[] = [];
  return {
    runs,
    io: {
      env: m.env ?? {},
      exists: (p: string) => Object.keys(files).some((f) => f === p || f.startsWith(p + '/')),
      readFile: (p: string) => {
        if (!(p in files)) throw new Error(`ENOENT ${p}`);
        return files[p];
      },
      run: (cmd: string) => {
        runs.push(cmd);
        return m.programs?.[cmd] ?? null;
      },
    },
  };
}

/** The files of a LibTorch zip-style install under `prefix`. */
function libtorchAt(prefix: string, version = '2.3.0', withCuda = false): Record<string, string> {
  const files: Record<string, string> = {
    [`${prefix}/share/cmake/Torch/TorchConfig.cmake`]: '',
    [`${prefix}/lib/libtorch.so`]: '',
    [`${prefix}/include/torch/csrc/api/include/torch/version.h`]: `#define TORCH_VERSION \\\n  "${version}"\n`,
  };
  if (withCuda) files[`${prefix}/lib/libtorch_cuda.so`] = '';
  return files;
}

const debianFiles: Record<string, string> = {
  '/usr/lib/x86_64-linux-gnu/cmake/Torch/TorchConfig.cmake': '',
  '/usr/lib/x86_64-linux-gnu/libtorch.so': '',
  '/usr/include/torch/csrc/api/include/torch/version.h': '#define TORCH_VERSION \\\n  "1.13.0"\n',
};

const pytorchPrefix = '/venv/lib/python3.12/site-packages/torch';
const pytorchProbe = JSON.stringify({
  cmake_prefix_path: `${pytorchPrefix}/share/cmake`,
  version: '2.11.0+cu130',
  cuda: '13.0',
  cxx11abi: true,
});

describe('findLibTorch', () => {
  test('LIBTORCH wins over every other source', () => {
    const { io } = fakeIo({
      env: { LIBTORCH: '/opt/libtorch', Torch_DIR: '/other/share/cmake/Torch' },
      files: { ...libtorchAt('/opt/libtorch', '2.3.0'), ...libtorchAt('/other'), ...debianFiles },
      programs: { python3: pytorchProbe },
    });
    const found = findLibTorch(io);
    expect(found.source).toBe('env:LIBTORCH');
    expect(found.torchDir).toBe('/opt/libtorch/share/cmake/Torch');
    expect(found.includeDirs).toEqual(['/opt/libtorch/include', '/opt/libtorch/include/torch/csrc/api/include']);
    expect(found.libDir).toBe('/opt/libtorch/lib');
    expect(found.version).toBe('2.3.0');
  });

  test('a LibTorch archive reports its build-version file and CUDA flavour', () => {
    const { io } = fakeIo({
      env: { LIBTORCH: '/opt/libtorch' },
      files: { ...libtorchAt('/opt/libtorch', '2.3.0', true), '/opt/libtorch/build-version': '2.3.0+cu121\n' },
    });
    const found = findLibTorch(io);
    expect(found.version).toBe('2.3.0+cu121');
    expect(found.headerVersion).toBe('2.3.0');
    expect(found.cuda).toBe(true);
  });

  test('Torch_DIR comes next, then CMAKE_PREFIX_PATH', () => {
    const both = fakeIo({
      env: { Torch_DIR: '/a/share/cmake/Torch', CMAKE_PREFIX_PATH: '/b' },
      files: { ...libtorchAt('/a'), ...libtorchAt('/b') },
    });
    expect(findLibTorch(both.io).source).toBe('env:Torch_DIR');
    const prefixOnly = fakeIo({
      env: { CMAKE_PREFIX_PATH: ['/nothing', '/b'].join(path.delimiter) },
      files: { ...libtorchAt('/b'), ...debianFiles },
    });
    const found = findLibTorch(prefixOnly.io);
    expect(found.source).toBe('env:CMAKE_PREFIX_PATH');
    expect(found.prefix).toBe('/b');
  });

  test('a variable that points nowhere is noted and the search goes on', () => {
    const notes: string[] = [];
    const { io } = fakeIo({ env: { LIBTORCH: '/missing' }, files: debianFiles, programs: { 'dpkg-query': '1.13.1+dfsg-4' } });
    const found = findLibTorch(io, notes);
    expect(found.source).toBe('system');
    expect(notes.join('\n')).toMatch(/LIBTORCH=\/missing/);
  });

  test('an installed PyTorch comes before the system LibTorch', () => {
    const { io } = fakeIo({
      files: { ...libtorchAt(pytorchPrefix, '2.11.0', true), ...debianFiles },
      programs: { python3: pytorchProbe },
    });
    const found = findLibTorch(io);
    expect(found.source).toBe('pytorch');
    expect(found.torchDir).toBe(`${pytorchPrefix}/share/cmake/Torch`);
    expect(found.prefix).toBe(pytorchPrefix);
    expect(found.version).toBe('2.11.0+cu130');
    expect(found.cuda).toBe(true);
  });

  test('PYTHON is asked first, and a PyTorch without a CMake config is passed over', () => {
    const notes: string[] = [];
    const { io, runs } = fakeIo({
      env: { PYTHON: '/venv/bin/python' },
      files: debianFiles, // no TorchConfig.cmake under the PyTorch prefix (Debian's python3-torch)
      programs: { '/venv/bin/python': pytorchProbe, 'dpkg-query': '1.13.1+dfsg-4' },
    });
    const found = findLibTorch(io, notes);
    expect(runs[0]).toBe('/venv/bin/python');
    expect(found.source).toBe('system');
    expect(notes.join('\n')).toMatch(/ships no CMake config/);
  });

  test("Debian's LibTorch: four-level prefix, multiarch lib folder, package version over header version", () => {
    const { io } = fakeIo({ files: debianFiles, programs: { 'dpkg-query': '1.13.1+dfsg-4' } });
    const found = findLibTorch(io);
    expect(found).toMatchObject({
      source: 'system',
      prefix: '/usr',
      libDir: '/usr/lib/x86_64-linux-gnu',
      version: '1.13.1',
      headerVersion: '1.13.0',
      cuda: false,
    });
  });

  test('nothing anywhere: null, and the message names what to install or set', () => {
    const { io } = fakeIo({});
    expect(findLibTorch(io)).toBeNull();
    const message = notFoundMessage([]);
    expect(message).toMatch(/apt-get install libtorch-dev/);
    expect(message).toMatch(/LIBTORCH=/);
  });
});
