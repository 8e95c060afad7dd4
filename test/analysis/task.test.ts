// One Task (native/core/task.h) for evaluation and analysis: both bridges read and write the same
// names, each refusing an unknown one with its own message.
import { selectionMetric, tensor } from '../../lib';
import { native } from '../../lib/native';

describe('the task names native code reads and writes', () => {
  const probabilities = () => tensor(Float32Array.from([0.2, 0.8, 0.7, 0.3, 0.4, 0.6]), [3, 2]);

  test('analysis writes back the task it was given, for each of the three', async () => {
    const multilabel = tensor(Uint8Array.from([0, 1, 1, 0, 0, 1]), [3, 2]);
    const single = tensor(BigInt64Array.from([1n, 0n, 1n]), [3]);
    for (const task of ['multiclass', 'binary', 'multilabel'] as const) {
      const m = await native().analysisMetrics(probabilities(), task === 'multilabel' ? multilabel : single, { task, resamples: 0, seed: 0, confidence: 0.95 });
      expect(m.task).toBe(task);
    }
  });

  test('an unknown task: ERR_INVALID_ARG from analysis, naming options.task', async () => {
    // Argument errors are thrown at the call, before a Promise exists; the async wrapper catches both kinds.
    await expect((async () => native().analysisMetrics(probabilities(), tensor(BigInt64Array.from([1n, 0n, 1n]), [3]), { task: 'multi-class', resamples: 0, seed: 0, confidence: 0.95 }))()).rejects.toMatchObject({
      code: 'ERR_INVALID_ARG',
      message: "expected options.task to be one of 'multiclass', 'binary', 'multilabel' but received 'multi-class'",
    });
  });

  test('an unknown task: ERR_INVALID_ARG from model selection, naming the three', async () => {
    // The library's types allow only the three names; a JavaScript caller can pass anything.
    const task = 'multi-class' as unknown as 'multiclass';
    await expect((async () => selectionMetric(probabilities(), tensor(BigInt64Array.from([1n, 0n, 1n]), [3]), task, 'accuracy'))()).rejects.toMatchObject({
      code: 'ERR_INVALID_ARG',
      message: "expected task 'multiclass', 'binary' or 'multilabel' but received 'multi-class'",
    });
  });
});
