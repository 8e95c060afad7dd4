/**
 * `imlm-native doctor`: checks that this machine can train, and says how to fix what cannot.
 * Each check is independent; the CLI exits 0 only when all pass.
 */
import { existsSync, statfsSync, statSync } from 'fs';
import { spawnSync } from 'child_process';
import { info, type Info } from './info';
import { addonPath } from './native';

export interface DoctorCheck {
  name: string;
  ok: boolean;
  /** What was found. */
  detail: string;
  /** How to fix it (failed checks only). */
  fix?: string;
}

export interface DoctorOptions {
  /** Folder whose disk must have room for runs and data (default: the current folder). */
  dir?: string;
  /** Free space below which the disk check fails (default 2 GiB). */
  minFreeBytes?: number;
}

/** Oldest LibTorch the code is written for. */
const kMinLibTorch = [1, 13];
const kGiB = 1024 ** 3;

function versionAtLeast(version: string, min: number[]): boolean {
  const parts = version.split(/[.+a-z]/).map((p) => Number.parseInt(p, 10));
  for (let i = 0; i < min.length; i++) {
    if ((parts[i] ?? 0) !== min[i]) return (parts[i] ?? 0) > min[i];
  }
  return true;
}

/** Is there an NVIDIA GPU with a working driver on this machine, whatever LibTorch thinks? */
function nvidiaDriver(): { present: boolean; detail: string } {
  if (existsSync('/proc/driver/nvidia/version')) {
    const smi = spawnSync('nvidia-smi', ['--query-gpu=name,driver_version', '--format=csv,noheader'], {
      encoding: 'utf8',
    });
    const detail = smi.status === 0 ? smi.stdout.trim().split('\n').join('; ') : 'NVIDIA driver loaded';
    return { present: true, detail };
  }
  return { present: false, detail: 'no NVIDIA driver (/proc/driver/nvidia/version is absent)' };
}

function cudaCheck(i: Info): DoctorCheck {
  const driver = nvidiaDriver();
  if (i.cuda.available) {
    const names = i.cuda.devices.map((d) => `cuda:${d.index} ${d.name} (sm ${d.computeCapability})`);
    return { name: 'CUDA', ok: true, detail: `available: ${names.join(', ')}` };
  }
  if (!driver.present) {
    return {
      name: 'CUDA',
      ok: true,
      detail: `not used: this machine has no NVIDIA GPU (${driver.detail}); training runs on the CPU`,
    };
  }
  // A GPU is there but LibTorch cannot use it: that is worth failing for.
  const fix = i.libtorch.builtWithCuda
    ? 'the driver and the CUDA version LibTorch was built for disagree: update the NVIDIA driver, or build against a PyTorch whose CUDA the driver supports'
    : 'the addon links a CPU-only LibTorch: install PyTorch with CUDA and rebuild (`npm rebuild imlm-native`; see README, "LibTorch"), or set LIBTORCH to a CUDA LibTorch';
  return {
    name: 'CUDA',
    ok: false,
    detail: `GPU present (${driver.detail}) but unusable: ${i.cuda.reason ?? 'unknown reason'}`,
    fix,
  };
}

function diskCheck(dir: string, minFreeBytes: number): DoctorCheck {
  try {
    if (!statSync(dir).isDirectory()) {
      return { name: 'disk', ok: false, detail: `${dir} is not a folder`, fix: 'pass --dir a folder (where runs will be written)' };
    }
    const stats = statfsSync(dir);
    const free = Number(stats.bavail) * Number(stats.bsize);
    const detail = `${(free / kGiB).toFixed(1)} GiB free in ${dir}`;
    if (free >= minFreeBytes) return { name: 'disk', ok: true, detail };
    return {
      name: 'disk',
      ok: false,
      detail,
      fix: `free at least ${(minFreeBytes / kGiB).toFixed(1)} GiB there, or run from a folder on a larger disk`,
    };
  } catch (e) {
    return { name: 'disk', ok: false, detail: `cannot read free space of ${dir}: ${(e as Error).message}`, fix: 'run from a folder that exists and is readable' };
  }
}

export async function doctor(options: DoctorOptions = {}): Promise<DoctorCheck[]> {
  const dir = options.dir ?? process.cwd();
  const minFreeBytes = options.minFreeBytes ?? 2 * kGiB;
  const checks: DoctorCheck[] = [];
  let runtime: Info | undefined;
  try {
    runtime = await info();
    checks.push({ name: 'addon', ok: true, detail: `loaded ${runtime.addonPath} (${runtime.build.system}, ${runtime.build.type})` });
  } catch (e) {
    checks.push({
      name: 'addon',
      ok: false,
      detail: (e as Error).message.split('\n')[0],
      fix: 'run `npm rebuild imlm-native` (in this repository: `npm run build:native`); with npm >= 11 as a dependency: `npm install-scripts approve imlm-native` first',
    });
  }
  if (runtime) {
    const v = runtime.libtorch.version;
    checks.push(
      versionAtLeast(v, kMinLibTorch)
        ? { name: 'LibTorch', ok: true, detail: `${v} (${runtime.libtorch.source}) from ${runtime.libtorch.libraryPath}` }
        : {
            name: 'LibTorch',
            ok: false,
            detail: `${v} is older than ${kMinLibTorch.join('.')}`,
            fix: 'install a newer LibTorch (Debian: apt-get install libtorch-dev; or PyTorch >= 2) and `npm rebuild imlm-native`',
          },
    );
    checks.push(cudaCheck(runtime));
  }
  checks.push(diskCheck(dir, minFreeBytes));
  return checks;
}
