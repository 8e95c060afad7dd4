/**
 * The demo data set for a command run without --data. The library only finds or prepares it
 * (lib/data/demo.ts); installing Debian's package when it is missing is the command line's
 * decision, taken here — where the user asked for the demo and may be root on a fresh machine.
 */
import path from 'path';
import { availableDemoStore, demoDataAvailable, kDemoPackage } from '../data/demo';
import { packageRoot } from '../version';

/** scripts/apt.js, shared with the install and test scripts (shipped in the package's files). */
interface Apt {
  canUseApt(): boolean;
  aptInstall(packages: string[], options: { quiet: boolean }): boolean;
}

/** Installs the demo's Debian package when apt may be used (root on Debian); whether it did. */
function installDemoPackage(log: (message: string) => void): boolean {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const apt = require(path.join(packageRoot, 'scripts', 'apt.js')) as Apt;
  if (!apt.canUseApt()) return false;
  log(`installing Debian's ${kDemoPackage} for the demo data set`);
  return apt.aptInstall([kDemoPackage], { quiet: true });
}

/**
 * The demo store's path, installing its package first when missing and allowed, and preparing
 * it once; null when Fashion-MNIST cannot be had (the caller falls back or says what to do).
 */
export async function demoStoreInstalling(log: (message: string) => void): Promise<string | null> {
  if (!demoDataAvailable()) installDemoPackage(log);
  return availableDemoStore(log);
}
