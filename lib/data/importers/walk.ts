/** Listing the files of a source folder, recursively, in a stable (sorted) order. */
import { promises as fs } from 'fs';
import path from 'path';
import { ImlmError } from '../../errors';

/**
 * Every file under `root` (following no symlinked folders twice) whose lower-cased extension is
 * in `extensions` (all files when null), as sorted '/'-separated paths relative to `root`.
 */
export async function listFiles(root: string, extensions: readonly string[] | null): Promise<string[]> {
  const out: string[] = [];
  const visit = async (dir: string, rel: string): Promise<void> => {
    let entries;
    try {
      entries = await fs.readdir(dir, { withFileTypes: true });
    } catch (e) {
      throw new ImlmError(`cannot list ${dir}: ${(e as Error).message} (expected a readable folder)`, 'ERR_IO', { cause: e });
    }
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const relPath = rel ? `${rel}/${entry.name}` : entry.name;
      const full = path.join(dir, entry.name);
      let isDir = entry.isDirectory();
      let isFile = entry.isFile();
      if (entry.isSymbolicLink()) {
        const st = await fs.stat(full).catch(() => null);
        isDir = !!st?.isDirectory();
        isFile = !!st?.isFile();
      }
      if (isDir) await visit(full, relPath);
      else if (isFile && (!extensions || extensions.includes(path.extname(entry.name).toLowerCase()))) out.push(relPath);
    }
  };
  await visit(root, '');
  return out.sort();
}

/**
 * Each file's base name (or stem, with `stem`) → its relative paths. A name found in two folders
 * is only an error when a label file asks for it (see `pathForName`): sources often hold more
 * images than their label file names (e.g. EyePACS' test/ beside train/).
 */
export function indexByName(files: readonly string[], options: { stem?: boolean } = {}): Map<string, string[]> {
  const byName = new Map<string, string[]>();
  for (const file of files) {
    const base = path.posix.basename(file);
    const key = options.stem ? base.slice(0, base.length - path.posix.extname(base).length) : base;
    const paths = byName.get(key);
    if (paths) paths.push(file);
    else byName.set(key, [file]);
  }
  return byName;
}

/** The one file with this name; ERR_FORMAT naming `where` when it is absent or found twice. */
export function pathForName(index: Map<string, string[]>, name: string, where: string, missing: string): string {
  const paths = index.get(name);
  if (!paths) throw new ImlmError(`${where}: ${missing}`, 'ERR_FORMAT');
  if (paths.length > 1) {
    throw new ImlmError(`${where}: the image '${name}' is found ${paths.length} times (${paths.slice(0, 3).join(', ')}); expected it once — remove the duplicate folder`, 'ERR_FORMAT');
  }
  return paths[0];
}

/** The patient of a file by a user's pattern (first capture group), or the file itself. */
export function patientOf(file: string, pattern: RegExp | null): string {
  if (!pattern) return file;
  const m = pattern.exec(file);
  return m && m[1] !== undefined ? m[1] : file;
}

export async function assertFolder(source: string, what: string): Promise<void> {
  const st = await fs.stat(source).catch(() => null);
  if (!st?.isDirectory()) throw new ImlmError(`${source} is not a folder (expected ${what})`, 'ERR_INVALID_ARG');
}
