/**
 * The demo data set of `imlm-native train` without --data: Fashion-MNIST from Debian's
 * dataset-fashion-mnist package (installed with apt when missing and allowed: root on Debian),
 * prepared once into the user's cache folder.
 */
import { spawnSync } from 'child_process';
import { existsSync } from 'fs';
import os from 'os';
import path from 'path';
import { prepareIdx } from './prepare-idx';

/** Where Debian's package puts the IDX files (IMLM_FASHION_MNIST_DIR overrides it, for tests). */
export function fashionMnistDir(): string {
  return process.env.IMLM_FASHION_MNIST_DIR || '/usr/share/datasets/fashion-mnist';
}

export function demoStorePath(): string {
  const cache = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(cache, 'imlm-native', 'fashion-mnist');
}

function tryInstallPackage(log: (message: string) => void): boolean {
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!root || !existsSync('/etc/debian_version')) return false;
  log('installing Debian\'s dataset-fashion-mnist for the demo data set');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () => spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'dataset-fashion-mnist'], { stdio: 'ignore', env }).status === 0;
  if (install()) return true;
  spawnSync('apt-get', ['update'], { stdio: 'ignore', env });
  return install();
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
