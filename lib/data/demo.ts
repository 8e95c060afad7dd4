/**
 * The demo data set of `imlm-native train` without --data: Fashion-MNIST from Debian's
 * dataset-fashion-mnist package (installed with apt when missing and allowed: root on Debian),
 * prepared once into the user's cache folder.
 */
import { existsSync } from 'fs';
import os from 'os';
import path from 'path';
import { prepareIdx } from './prepare-idx';
import { packageRoot } from '../version';

/** Where Debian's package puts the IDX files (IMLM_FASHION_MNIST_DIR overrides it, for tests). */
export function fashionMnistDir(): string {
  return process.env.IMLM_FASHION_MNIST_DIR || '/usr/share/datasets/fashion-mnist';
}

export function demoStorePath(): string {
  const cache = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(cache, 'imlm-native', 'fashion-mnist');
}

/** scripts/apt.js, shared with the install and test scripts (shipped in the package's files). */
function tryInstallPackage(log: (message: string) => void): boolean {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const apt = require(path.join(packageRoot, 'scripts', 'apt.js')) as { canUseApt(): boolean; aptInstall(p: string[], o: { quiet: boolean }): boolean };
  if (!apt.canUseApt()) return false;
  log("installing Debian's dataset-fashion-mnist for the demo data set");
  return apt.aptInstall(['dataset-fashion-mnist'], { quiet: true });
}

/**
 * The demo store's path, preparing it on first use; null when Fashion-MNIST cannot be had (the
 * caller then trains on the synthetic source and says so).
 */
export async function ensureDemoStore(log: (message: string) => void): Promise<string | null> {
  const store = demoStorePath();
  if (existsSync(path.join(store, 'manifest.json'))) return store;
  const source = fashionMnistDir();
  if (!existsSync(source) && !tryInstallPackage(log)) return null;
  if (!existsSync(source)) return null;
  log(`preparing the demo data set (Fashion-MNIST) into ${store} — once`);
  await prepareIdx(source, store, { overwrite: true });
  return store;
}
