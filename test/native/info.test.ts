import { info, version } from '../../lib';

describe('info()', () => {
  test('returns versions, CUDA, threads and build fields', async () => {
    const i = await info();
    expect(i.packageVersion).toBe(version);
    expect(i.libtorch.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(i.libtorch.headerVersion).toMatch(/^\d+\.\d+\.\d+/);
    expect(i.libtorch.libraryPath).toMatch(/libtorch_cpu\.so/);
    expect(typeof i.cuda.available).toBe('boolean');
    expect(Array.isArray(i.cuda.devices)).toBe(true);
    expect(i.cuda.devices.length > 0).toBe(i.cuda.available);
    if (!i.cuda.available) expect(i.cuda.reason).toEqual(expect.any(String));
    expect(i.threads.intraOp).toBeGreaterThanOrEqual(1);
    expect(i.build.napiVersion).toBe(8);
    expect(['cmake-js', 'node-gyp']).toContain(i.build.system);
    expect(i.addonPath).toMatch(/\.node$/);
  });

  test("on Debian's CPU LibTorch it reports 1.13.1 and no CUDA", async () => {
    const i = await info();
    if (i.libtorch.source !== 'system') return; // another LibTorch (e.g. the GPU machine's)
    expect(i.libtorch.version).toBe('1.13.1');
    expect(i.cuda.available).toBe(false);
    expect(i.cuda.reason).toMatch(/CPU-only LibTorch/);
  });

  test('is asynchronous: the event loop keeps running while it resolves', async () => {
    let ticked = false;
    setImmediate(() => (ticked = true));
    const p = info();
    expect(p).toBeInstanceOf(Promise);
    await p;
    expect(ticked).toBe(true);
  });
});
