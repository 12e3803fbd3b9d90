import { describe, expect, it } from 'vitest';
import { ResultSaveCoalescer } from './result-save-coalescer.js';

/** A store that records each batch it is handed and answers as `answer` says. */
function recordingStore(
  answer: (items: string[]) => Promise<Map<string, unknown> | undefined> = async () => undefined,
) {
  const batches: string[][] = [];
  const coalescer = new ResultSaveCoalescer<string>(async (items) => {
    batches.push(items);
    return answer(items);
  }, 3);
  return { batches, coalescer };
}

describe('ResultSaveCoalescer', () => {
  it('sends the saves of one turn as one batch, the last save of an id winning', async () => {
    const { batches, coalescer } = recordingStore();
    await Promise.all([coalescer.save('a', 'a1'), coalescer.save('b', 'b1'), coalescer.save('a', 'a2')]);
    expect(batches).toEqual([['a2', 'b1']]);
  });

  it('keeps an earlier save of an id in the batch when `replaces` refuses the later one', async () => {
    const batches: string[][] = [];
    const coalescer = new ResultSaveCoalescer<string>(
      async (items) => {
        batches.push(items);
        return undefined;
      },
      10,
      (earlier, later) => !(earlier.endsWith(':success') && later.endsWith(':failure')),
    );
    await Promise.all([
      coalescer.save('a', 'a:success'),
      coalescer.save('a', 'a:failure'),
      coalescer.save('b', 'b:failure'),
      coalescer.save('b', 'b:success'),
    ]);
    expect(batches).toEqual([['a:success', 'b:success']]);
  });

  it('holds saves made while a batch is in flight for the next one, at most maxBatch ids each', async () => {
    let release: () => void = () => {};
    const { batches, coalescer } = recordingStore(async (items) => {
      if (items[0] === 'first') await new Promise<void>((resolve) => (release = resolve));
      return undefined;
    });
    const first = coalescer.save('first', 'first');
    await new Promise((resolve) => setImmediate(resolve));
    const later = ['w', 'x', 'y', 'z'].map((id) => coalescer.save(id, id));
    release();
    await Promise.all([first, ...later]);
    expect(batches).toEqual([['first'], ['w', 'x', 'y'], ['z']]);
  });

  it('rejects only the ids the store names, and every caller when the batch fails', async () => {
    const { coalescer } = recordingStore(async (items) =>
      items.includes('boom') ? Promise.reject(new Error('gone')) : new Map([['bad', new Error('taken')]]),
    );
    const outcomes = await Promise.allSettled([coalescer.save('good', 'good'), coalescer.save('bad', 'bad')]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected']);
    await expect(coalescer.save('boom', 'boom')).rejects.toThrow('gone');
  });

  it('drain waits for every save made so far', async () => {
    const { batches, coalescer } = recordingStore();
    void coalescer.save('a', 'a');
    await coalescer.drain();
    expect(batches).toEqual([['a']]);
  });
});
