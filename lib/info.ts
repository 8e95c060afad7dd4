/** What this installation is and can do: versions, CUDA devices, threads, build. */
import { native, type NativeInfo } from './native';
import { addonPath } from './native';
import { packageVersion } from './version';

export interface Info extends NativeInfo {
  packageVersion: string;
  node: { version: string; napiVersion: string; platform: string; arch: string };
  /** The c10d backends this build has ("gloo", "nccl"): what distributed runs can use. */
  distributed: { backends: string[] };
  addonPath: string;
}

/** Resolves on a worker thread (the first CUDA query can take a second). */
export async function info(): Promise<Info> {
  const nativeInfo = await native().info();
  return {
    packageVersion,
    ...nativeInfo,
    node: {
      version: process.version,
      napiVersion: process.versions.napi ?? 'unknown',
      platform: process.platform,
      arch: process.arch,
    },
    distributed: { backends: native().distBackends() },
    addonPath: addonPath(),
  };
}
