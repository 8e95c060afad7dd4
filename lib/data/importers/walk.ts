/**
 * Listing the files of a source folder, recursively, in a stable (sorted) order, visiting each
 * real file once (docs/formats.md, "Listing a folder"):
 *
 *   1. the real tree first: folders and regular files that are not symbolic links, sorted by name;
 *   2. then the symbolic links met on the way, in the order met (sorted within a folder): each is
 *      resolved to its real path; a link to a folder that contains it (`x -> .`, `x -> ..`) is a
 *      cycle, a link to a folder or file already listed is a duplicate, a link that resolves to
 *      nothing is dangling, a link to itself (ELOOP) is a cycle; a link to a new folder is walked
 *      (its own links join the queue), a link to a new file is listed under the link's path.
 *
 * Every entry left out is returned in `skipped` with its reason; FIFOs, sockets and devices are
 * left out from their lstat/stat alone, never opened. Names starting with '.' are ignored.
 */
import { promises as fs, type Dirent, type Stats } from 'fs';
import path from 'path';
import { ImlmError } from '../../errors';
import { fileKind } from '../json-file';

export interface SkippedFile {
  /** Path relative to the listed folder, '/'-separated. */
  file: string;
  reason: string;
}

export interface FileListing {
  /** Sorted '/'-separated paths relative to the root, one per real file. */
  files: string[];
  /** Entries left out (links that are cycles, duplicates or dangling; non-regular files), sorted by file. */
  skipped: SkippedFile[];
}

/**
 * Every file under `root` whose lower-cased extension is in `extensions` (all files when null),
 * each real file once, and the entries left out with their reasons.
 */
export async function listFiles(root: string, extensions: readonly string[] | null): Promise<FileListing> {
  const wanted = (name: string) => !extensions || extensions.includes(path.extname(name).toLowerCase());
  const files: string[] = [];
  const skipped: SkippedFile[] = [];
  /** real path → the relative path it was listed under ('' for the root). */
  const dirs = new Map<string, string>();
  const realFiles = new Map<string, string>();
  const links: Array<{ full: string; rel: string; parentReal: string }> = [];
  const shown = (rel: string) => `'${rel || '.'}'`;

  const walk = async (dir: string, dirReal: string, rel: string): Promise<void> => {
    let entries: Dirent[];
    try {
      entries = await fs.readdir(dir, { withFileTypes: true });
    } catch (e) {
      throw new ImlmError(`cannot list ${dir}: ${(e as Error).message} (expected a readable folder)`, 'ERR_IO', { cause: e });
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const relPath = rel ? `${rel}/${entry.name}` : entry.name;
      const full = path.join(dir, entry.name);
      if (entry.isSymbolicLink()) links.push({ full, rel: relPath, parentReal: dirReal });
      else if (entry.isDirectory()) {
        const real = path.join(dirReal, entry.name);
        dirs.set(real, relPath);
        await walk(full, real, relPath);
      } else if (entry.isFile()) {
        if (wanted(entry.name)) {
          realFiles.set(path.join(dirReal, entry.name), relPath);
          files.push(relPath);
        }
      } else if (wanted(entry.name)) {
        const st = await fs.lstat(full).catch(() => null);
        skipped.push({ file: relPath, reason: `${st ? fileKind(st) : 'not a regular file'}, not a regular file: left out without being opened` });
      }
    }
  };

  let rootReal: string;
  try {
    rootReal = await fs.realpath(root);
  } catch (e) {
    throw new ImlmError(`cannot list ${root}: ${(e as Error).message} (expected a readable folder)`, 'ERR_IO', { cause: e });
  }
  dirs.set(rootReal, '');
  await walk(root, rootReal, '');

  // Links last, so that a real file or folder is always listed under its own path, not a link's.
  for (let k = 0; k < links.length; k++) {
    const { full, rel, parentReal } = links[k];
    let st: Stats;
    let real: string;
    try {
      st = await fs.stat(full);
      real = await fs.realpath(full);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const target = await fs.readlink(full).catch(() => '?');
      const reason =
        code === 'ELOOP'
          ? `symlink cycle: the link to '${target}' leads back to itself`
          : code === 'ENOENT' || code === 'ENOTDIR'
            ? `dangling symlink: its target '${target}' does not exist`
            : `unreadable symlink to '${target}': ${(e as Error).message}`;
      skipped.push({ file: rel, reason });
      continue;
    }
    if (st.isDirectory()) {
      if (parentReal === real || parentReal.startsWith(real.endsWith(path.sep) ? real : real + path.sep)) {
        skipped.push({ file: rel, reason: `symlink cycle: points to the folder ${shown(dirs.get(real) ?? real)} (${real}), which contains the link` });
      } else if (dirs.has(real)) {
        skipped.push({ file: rel, reason: `duplicate of the folder ${shown(dirs.get(real)!)}: the same folder (${real}) reached through a symlink` });
      } else {
        dirs.set(real, rel);
        await walk(full, real, rel);
      }
    } else if (!wanted(path.basename(rel))) continue;
    else if (st.isFile()) {
      const first = realFiles.get(real);
      if (first !== undefined) skipped.push({ file: rel, reason: `duplicate of '${first}': the same file (${real}) reached through a symlink` });
      else {
        realFiles.set(real, rel);
        files.push(rel);
      }
    } else skipped.push({ file: rel, reason: `a symlink to ${fileKind(st)} (${real}), not a regular file: left out without being opened` });
  }
  skipped.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  return { files: files.sort(), skipped };
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
