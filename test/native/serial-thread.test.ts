/**
 * core/serial_thread.h through its test hook: jobs asked for from different libuv workers all run
 * on one thread (what keeps cuDNN's per-thread benchmark cache warm for a trainer's calls), and a
 * job's error reaches the caller's Promise.
 */
import { native } from '../../lib/native';
import { ImlmError } from '../../lib/errors';

describe('SerialThread', () => {
  test('jobs from several worker threads run on one thread, not on the callers', async () => {
    const results = await Promise.all(Array.from({ length: 8 }, () => native()._serialThreadProbe()));
    const jobThreads = new Set(results.map((r) => r.job));
    const callerThreads = new Set(results.map((r) => r.caller));
    expect(jobThreads.size).toBe(1);
    // libuv's pool has 4 threads: 8 concurrent calls come from more than one of them.
    expect(callerThreads.size).toBeGreaterThan(1);
    expect(callerThreads.has([...jobThreads][0])).toBe(false);
  });

  test("a job's exception rejects the caller's Promise with its code, and the thread lives on", async () => {
    await expect(native()._serialThreadProbe(true)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG' });
    await expect(native()._serialThreadProbe(true)).rejects.toBeInstanceOf(ImlmError);
    const after = await native()._serialThreadProbe();
    expect(after.job).toEqual(expect.any(String));
  });
});
