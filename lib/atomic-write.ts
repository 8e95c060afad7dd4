/** Writing small files (JSON) so that a crash leaves the old or the new content, never a mix. */
import { promises as fs } from 'fs';
import path from 'path';

export async function writeFileAtomic(file: string, content: string | Uint8Array): Promise<void> {
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.tmp-${process.pid}`);
  const handle = await fs.open(temp, 'w');
  try {
    await handle.writeFile(content);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.rename(temp, file);
}

export function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  return writeFileAtomic(file, JSON.stringify(value, null, 2) + '\n');
}

/**
 * Temporary files of atomic saves: `<target>.tmp-<pid>` (native/core/io/atomic_file.cc, every
 * safetensors file) and `.<name>.tmp-<pid>` (writeFileAtomic above). A process killed mid-save
 * (kill -9, a third Ctrl-C) leaves one behind; the target itself is intact.
 */
const kTempPattern = /^.+\.tmp-([0-9]+)$/;

/** Whether a process with this id exists (EPERM: it exists but belongs to someone else). */
export function isProcessAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes, in each of `dirs` (not below), the plain files named like an atomic save's temporary
 * whose process is gone; a live process's temporary is kept (it may be saving right now). A pid
 * reused by an unrelated live process keeps the file too: the safe side. Returns what it removed.
 */
export async function removeStaleTemporaries(dirs: string[]): Promise<string[]> {
  const removed: string[] = [];
  for (const dir of dirs) {
    let entries;
    try {
      entries = await fs.readdir(dir, { withFileTypes: true });
    } catch {
      continue; // a folder that does not exist (yet) holds nothing stale
    }
    for (const entry of entries) {
      const match = kTempPattern.exec(entry.name);
      if (!match || !entry.isFile()) continue;
      const pid = Number(match[1]);
      if (!Number.isSafeInteger(pid) || pid <= 0 || isProcessAlive(pid)) continue;
      const file = path.join(dir, entry.name);
      await fs.rm(file, { force: true });
      removed.push(file);
    }
  }
  return removed;
}
