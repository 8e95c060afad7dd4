// docs/architecture.md's folder layout is generated from the tree (scripts/docs/layout.js): it
// fails here when a file or folder was added, moved or removed without regenerating it, or when a
// new folder has no description.
import { spawnSync } from 'child_process';
import path from 'path';
import { repoRoot } from '../helpers/run';

test('the folder layout in docs/architecture.md is the tree as it is', () => {
  const r = spawnSync(process.execPath, [path.join(repoRoot, 'scripts/docs/layout.js'), '--check'], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
});
