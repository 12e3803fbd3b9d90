/**
 * What the compiler accepts and refuses at the client's entry points. The `@ts-expect-error` lines fail
 * the package's typecheck when a wrong call compiles; the test bodies only run the calls that are right.
 */
import { afterEach, describe, expect, expectTypeOf, it } from 'vitest';
import { connect, type Job, type Tasq } from './client.js';
import { defineTask, type TaskContext } from './task.js';

const add = defineTask('types.add', (a: number, b: number) => a + b);
const greet = defineTask('types.greet', (name: string, ctx: TaskContext) => `${name} from ${ctx.name}`);
const total = defineTask('types.total', (values: number[]) => values.reduce((x, y) => x + y, 0));
const label = defineTask('types.label', (value: number, unit: string) => `${value} ${unit}`);

let tasq: Tasq | undefined;
afterEach(async () => {
  await tasq?.close();
  tasq = undefined;
});

describe('client types', () => {
  it('checks enqueueWith arguments against the task, as enqueue does', async () => {
    tasq = await connect({ name: 'types-enqueue-with', brokerClass: 'memory', sync: true });
    const job = await tasq.enqueueWith(add, [1, 2], { priority: 1 });
    expectTypeOf(job).toEqualTypeOf<Job<number>>();
    expect(await job.result()).toBe(3);
    const typeErrors = () => {
      // @ts-expect-error a string where a number is expected
      void tasq!.enqueueWith(add, ['1', 2], {});
      // @ts-expect-error an argument missing
      void tasq!.enqueueWith(add, [1], {});
      // @ts-expect-error an argument too many
      void tasq!.enqueueWith(add, [1, 2, 3], {});
      // @ts-expect-error the context is not an argument
      void tasq!.enqueueWith(greet, ['ada', {}], {});
    };
    expect(typeErrors).toBeTypeOf('function');
    expect(await (await tasq.enqueueWith(greet, ['ada'], {})).result()).toBe('ada from types.greet');
  });

  it('checks every argument list of enqueueMany against the task', async () => {
    tasq = await connect({ name: 'types-enqueue-many', brokerClass: 'memory', sync: true });
    const jobs = await tasq.enqueueMany(add, [
      [1, 2],
      [3, 4],
    ]);
    expectTypeOf(jobs).toEqualTypeOf<Job<number>[]>();
    expect(await Promise.all(jobs.map((job) => job.result()))).toEqual([3, 7]);
    const typeErrors = () => {
      // @ts-expect-error a string in the second list
      void tasq!.enqueueMany(add, [[1, 'a']]);
      // @ts-expect-error one list is short
      void tasq!.enqueueMany(add, [[1, 2], [3]]);
    };
    expect(typeErrors).toBeTypeOf('function');
  });

  it("types a chain's handle by its last link, and a chord's by its callback", async () => {
    tasq = await connect({ name: 'types-canvas', brokerClass: 'memory', sync: true });
    const chain = await tasq.chain([add.s(1, 2), label.s('apples')]).enqueue();
    expectTypeOf(chain).toEqualTypeOf<Job<string>>();
    expect(await chain.result()).toBe('3 apples');
    const numbers = await tasq.chain([label.s(1, 'x'), add.s(1, 2)]).enqueue();
    expectTypeOf(numbers).toEqualTypeOf<Job<number>>();
    const links = [add.s(1, 2), add.s(3)];
    expectTypeOf(await tasq.chain(links).enqueue()).toEqualTypeOf<Job<number>>();
    const chord = await tasq.chord([add.s(1, 2), add.s(3, 4)], total.s()).enqueue();
    expectTypeOf(chord).toEqualTypeOf<Job<number>>();
    expect(await chord.result()).toBe(10);
  });
});
