// The live-tensor count after the garbage of earlier test files is gone. Jest runs every file
// in one process (--runInBand) and the count is the addon's, so tensors an earlier file let go
// of without dispose() are finalized whenever V8 collects them; a count read while some are
// still pending drops during the test that reads it next. Collecting until two readings agree
// leaves only what is reachable, so a before/after comparison sees the code under test alone.
import { liveTensorCount } from '../../lib';

export async function settledLiveTensorCount(): Promise<number> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('settledLiveTensorCount needs node --expose-gc (npm test passes it)');
  let previous = -1;
  for (let i = 0; i < 50; i++) {
    gc();
    // N-API finalizers may run on a later turn of the event loop than the collection itself.
    await new Promise((resolve) => setImmediate(resolve));
    const count = liveTensorCount();
    if (count === previous) return count;
    previous = count;
  }
  return previous;
}
