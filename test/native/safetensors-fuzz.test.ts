// The seeded fuzzer (scripts/fuzz/run.js) over the real addon: 1,000 mutated files, each opened
// copied and memory-mapped with every tensor touched, in child processes. None may crash, hang,
// fail without an ImlmError code, or differ between the two readers. Like the CLI tests, it
// runs the compiled package (dist/, built by `npm test`'s pretest or `npm run build:ts`).
import { runNode, repoRoot } from '../helpers/run';
import path from 'path';

const fuzzer = path.join(repoRoot, 'scripts', 'fuzz', 'run.js');

describe('safetensors fuzzer', () => {
  test('1,000 cases of seed 2: no crash, hang, uncoded error or copy/mmap mismatch', async () => {
    const r = await runNode([fuzzer, '--seed', '2', '--cases', '1000', '--json'], { timeoutMs: 110000 });
    const summary = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}');
    expect(summary).toMatchObject({ cases: 1000, crash: 0, hang: 0, uncoded: 0, mismatch: 0, failures: [] });
    expect(summary.ok + summary.refused).toBe(1000);
    // The mutations reach both outcomes: some files still load, most are refused with ERR_FORMAT.
    expect(summary.ok).toBeGreaterThan(0);
    expect(summary.codes.ERR_FORMAT).toBeGreaterThan(500);
    expect(r.code).toBe(0);
  }, 120000);

  test('a case replays by seed and number, with its mutations', async () => {
    const once = await runNode([fuzzer, '--seed', '2', '--case', '7', '--json']);
    const again = await runNode([fuzzer, '--seed', '2', '--case', '7', '--json']);
    const a = JSON.parse(once.stdout.trim());
    expect(a).toMatchObject({ seed: 2, case: 7, outcome: expect.stringMatching(/^(ok|refused)$/) });
    expect(a.mutations[0]).toMatch(/^seed=(checkpoint|shard|features)$/);
    const b = JSON.parse(again.stdout.trim());
    // The same bytes, mutations and outcome (the message names a different temporary folder).
    expect([b.bytes, b.mutations, b.outcome, b.code]).toEqual([a.bytes, a.mutations, a.outcome, a.code]);
  });
});
