// The documentation's runnable examples run: every code block in README.md and docs/api.md
// whose info string is `js runnable` is written to its own .mjs file in a fresh folder where
// `imlm-native` resolves to this package (as it does for a project that depends on it) and run
// with node; it must exit 0. A snippet that goes stale fails here instead of in a user's hands.
import { spawnSync } from 'child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'fs';
import os from 'os';
import path from 'path';
import { repoRoot } from '../helpers/run';

function runnableBlocks(doc: string): { line: number; code: string }[] {
  const lines = readFileSync(path.join(repoRoot, doc), 'utf8').split('\n');
  const blocks: { line: number; code: string }[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() !== '```js runnable') continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && lines[end].trim() !== '```') end++;
    blocks.push({ line: start, code: lines.slice(start, end).join('\n') });
    i = end;
  }
  return blocks;
}

const cases = ['README.md', 'docs/api.md'].flatMap((doc) => runnableBlocks(doc).map((b) => ({ where: `${doc}:${b.line}`, ...b })));

let app: string;
beforeAll(() => {
  app = mkdtempSync(path.join(os.tmpdir(), 'imlm-snippets-'));
  mkdirSync(path.join(app, 'node_modules'));
  symlinkSync(repoRoot, path.join(app, 'node_modules', 'imlm-native'), 'dir');
});
afterAll(() => rmSync(app, { recursive: true, force: true }));

test('README.md and docs/api.md have runnable examples', () => {
  expect(cases.map((c) => c.where.split(':')[0])).toEqual(expect.arrayContaining(['README.md', 'docs/api.md']));
});

test.each(cases)('$where runs', ({ where, code }) => {
  const file = path.join(app, `${where.replace(/[^a-z0-9]+/gi, '-')}.mjs`);
  writeFileSync(file, code);
  const r = spawnSync(process.execPath, [file], { cwd: app, encoding: 'utf8', timeout: 240_000 });
  if (r.status !== 0) throw new Error(`${where} exited ${r.status} (${r.signal ?? 'no signal'}):\n${r.stderr}`);
  expect(r.status).toBe(0);
});
