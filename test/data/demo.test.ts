// The demo data set (lib/data/demo.ts): found or prepared by the library, never installed by it.
import { existsSync, mkdtempSync } from 'fs';
import os from 'os';
import path from 'path';
import { availableDemoStore, demoDataAvailable, demoStorePath, ensureDemoStore, kDemoInstallCommand } from '../../lib/data/demo';
import { writeIdxFolder } from '../helpers/idx-folder';
import { rejection } from '../helpers/rejection';

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'imlm-demo-'));

describe('demo data set', () => {
  const saved = { dir: process.env.IMLM_FASHION_MNIST_DIR, cache: process.env.XDG_CACHE_HOME };
  afterEach(() => {
    for (const [key, value] of [['IMLM_FASHION_MNIST_DIR', saved.dir], ['XDG_CACHE_HOME', saved.cache]] as const) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  });

  test('without the package the library throws ERR_IO naming the command to run, and installs nothing', async () => {
    process.env.IMLM_FASHION_MNIST_DIR = path.join(tmp(), 'absent');
    process.env.XDG_CACHE_HOME = tmp();
    expect(demoDataAvailable()).toBe(false);
    const e = await rejection(ensureDemoStore(() => {}));
    expect(e.code).toBe('ERR_IO');
    expect(e.message).toContain(kDemoInstallCommand);
    expect(e.message).toContain(process.env.IMLM_FASHION_MNIST_DIR);
    expect(kDemoInstallCommand).toBe('apt-get install dataset-fashion-mnist');
    await expect(availableDemoStore(() => {})).resolves.toBeNull();
    expect(existsSync(process.env.IMLM_FASHION_MNIST_DIR)).toBe(false);
  });

  test('with the IDX files it prepares the store once, into the cache folder', async () => {
    const source = path.join(tmp(), 'fashion-mnist');
    writeIdxFolder(source);
    process.env.IMLM_FASHION_MNIST_DIR = source;
    process.env.XDG_CACHE_HOME = tmp();
    expect(demoDataAvailable()).toBe(true);
    const log: string[] = [];
    const store = await ensureDemoStore((m) => log.push(m));
    expect(store).toBe(path.join(process.env.XDG_CACHE_HOME, 'imlm-native', 'fashion-mnist'));
    expect(store).toBe(demoStorePath());
    expect(existsSync(path.join(store, 'manifest.json'))).toBe(true);
    expect(log).toEqual([expect.stringMatching(/preparing the demo data set .* once/)]);
    await expect(availableDemoStore((m) => log.push(m))).resolves.toBe(store);
    expect(log).toHaveLength(1); // prepared once
  });
});
