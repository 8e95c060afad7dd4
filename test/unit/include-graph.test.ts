// The folders of native/core (listed in docs/architecture.md) form layers: a folder may include
// another only if that one never includes it back, directly or through others, so each folder
// builds and reads on top of the ones below it. The core never sees N-API: that is the bridge's.
import { readdirSync, readFileSync } from 'fs';
import path from 'path';

const CORE = path.join(__dirname, '..', '..', 'native', 'core');

interface Include {
  file: string; // relative to native/core
  line: number;
  target: string; // the path written in the directive
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(full));
    else if (/\.(h|cc)$/.test(entry.name)) out.push(full);
  }
  return out;
}

function includesOf(file: string): Include[] {
  const rel = path.relative(CORE, file);
  return readFileSync(file, 'utf8')
    .split('\n')
    .flatMap((text, i) => {
      const m = /^\s*#\s*include\s*[<"]([^>"]+)[>"]/.exec(text);
      return m ? [{ file: rel, line: i + 1, target: m[1] }] : [];
    });
}

/** The folder of a path relative to native/core: '.' for the files at its root. */
const folderOf = (rel: string) => path.dirname(rel);

const includes = sourceFiles(CORE).flatMap(includesOf);

/** folder → the other folders its files include, each with one directive that does it (for messages). */
function folderGraph(): Map<string, Map<string, Include>> {
  const graph = new Map<string, Map<string, Include>>();
  for (const inc of includes) {
    if (!inc.target.startsWith('core/')) continue;
    const from = folderOf(inc.file);
    const to = folderOf(inc.target.slice('core/'.length));
    if (from === to) continue;
    if (!graph.has(from)) graph.set(from, new Map());
    if (!graph.get(from)!.has(to)) graph.get(from)!.set(to, inc);
  }
  return graph;
}

/** A cycle of folders as the include directives that close it, or null when there is none. */
function findCycle(graph: Map<string, Map<string, Include>>): Include[] | null {
  const state = new Map<string, 'open' | 'done'>();
  const stack: Include[] = [];
  const visit = (folder: string): Include[] | null => {
    state.set(folder, 'open');
    for (const [next, via] of graph.get(folder) ?? []) {
      stack.push(via);
      if (state.get(next) === 'open') {
        const start = stack.findIndex((inc) => folderOf(inc.file) === next);
        return stack.slice(start);
      }
      if (!state.has(next)) {
        const found = visit(next);
        if (found) return found;
      }
      stack.pop();
    }
    state.set(folder, 'done');
    return null;
  };
  for (const folder of graph.keys()) {
    if (!state.has(folder)) {
      const found = visit(folder);
      if (found) return found;
    }
  }
  return null;
}

const describeInclude = (inc: Include) => `native/core/${inc.file}:${inc.line} includes "${inc.target}"`;

describe('native/core include graph', () => {
  test('reads the include directives of every folder', () => {
    // A guard against a test that passes because it read nothing.
    const folders = new Set(includes.map((inc) => folderOf(inc.file)));
    for (const folder of ['ssl', 'optim', 'losses', 'train', 'models']) expect(folders).toContain(folder);
    expect(folderGraph().get('train')?.has('ssl')).toBe(true);
  });

  test('no folder includes a folder that includes it back, directly or through others', () => {
    const cycle = findCycle(folderGraph());
    // On failure the message lists the directives that close the cycle: move the shared
    // declarations (often option structs) into the lower folder to break it.
    expect(cycle?.map(describeInclude) ?? []).toEqual([]);
  });

  test('nothing in native/core includes N-API or the bridge', () => {
    const offending = includes.filter((inc) =>
      /^(napi\.h|node_api\.h|js_native_api\.h|node_api_types\.h|bridge\/)/.test(inc.target),
    );
    expect(offending.map(describeInclude)).toEqual([]);
  });
});
