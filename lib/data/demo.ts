/**
 * The demo data set of `imlm-native train` without --data: Fashion-MNIST from Debian's
 * dataset-fashion-mnist package, prepared once into the user's cache folder.
 *
 * The library never installs system packages: when the package is missing, ensureDemoStore
 * throws ERR_IO naming the command that installs it. The command line installs it itself where
 * it may (lib/cli/demo-store.ts), so that `npx imlm-native train` works on a fresh machine.
 */
import { existsSync } from 'fs';
import os from 'os';
import path from 'path';
import { ImlmError } from '../errors';
import { prepareIdx } from './prepare-idx';

/** Debian's package that holds Fashion-MNIST's IDX files. */
export const kDemoPackage = 'dataset-fashion-mnist';

/** The command that installs it (as root). */
export const kDemoInstallCommand = `apt-get install ${kDemoPackage}`;

/** Where Debian's package puts the IDX files (IMLM_FASHION_MNIST_DIR overrides it, for tests). */
export function fashionMnistDir(): string {
  return process.env.IMLM_FASHION_MNIST_DIR || '/usr/share/datasets/fashion-mnist';
}

export function demoStorePath(): string {
  const cache = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(cache, 'imlm-native', 'fashion-mnist');
}

/** Whether the demo store can be had without installing anything: prepared already, or its IDX files are there. */
export function demoDataAvailable(): boolean {
  return existsSync(path.join(demoStorePath(), 'manifest.json')) || existsSync(fashionMnistDir());
}

/**
 * The demo store's path, preparing it on first use. ERR_IO when Fashion-MNIST is not installed,
 * naming the command to run (or IMLM_FASHION_MNIST_DIR, or --data, as the alternatives).
 */
export async function ensureDemoStore(log: (message: string) => void): Promise<string> {
  const store = demoStorePath();
  if (existsSync(path.join(store, 'manifest.json'))) return store;
  const source = fashionMnistDir();
  if (!existsSync(source)) {
    throw new ImlmError(
      `Expected Fashion-MNIST's IDX files in ${source} for the demo data set but that folder does not exist; ` +
        `install Debian's package with \`${kDemoInstallCommand}\` (as root), set IMLM_FASHION_MNIST_DIR to a folder holding them, or pass a prepared data set`,
      'ERR_IO',
    );
  }
  log(`preparing the demo data set (Fashion-MNIST) into ${store} — once`);
  await prepareIdx(source, store, { overwrite: true });
  return store;
}

/** The demo store when it can be had without installing anything (see demoDataAvailable), else null. */
export async function availableDemoStore(log: (message: string) => void): Promise<string | null> {
  return demoDataAvailable() ? ensureDemoStore(log) : null;
}
