/**
 * Gathers result saves into batches, for a result backend whose store writes many results in one call (a
 * multi-row statement, a script). A cluster finishing fifty jobs at once saves fifty results; one call per
 * batch instead of one per result is what makes saving results affordable at that rate.
 *
 * Saves made in one turn of the event loop, and every save made while a batch is in flight, go out
 * together as the next batch. One batch at a time keeps saves of the same id in call order across
 * batches; within a batch the last save of an id is the one written, unless `replaces` says it may not
 * replace the earlier one (a failure after a success of the same job), and the earlier callers of that id
 * settle with it, as if their result had been written and replaced at once. No caller is told its result
 * was stored when it was not.
 */

/**
 * Write `items` (one per id, in first-save order). Resolve with the ids that were not stored and why
 * (nothing, or an empty map: every one was stored); reject when none of them was.
 */
export type WriteResultBatch<Item> = (items: Item[]) => Promise<ReadonlyMap<string, unknown> | undefined>;

interface PendingSave<Item> {
  id: string;
  item: Item;
  resolve(): void;
  reject(error: unknown): void;
}

export class ResultSaveCoalescer<Item> {
  private pending: PendingSave<Item>[] = [];
  private scheduled = false;
  private inFlight: Promise<void> | undefined;

  /**
   * `maxBatch`: most distinct ids per batch, so one call stays bounded in size and duration. `replaces`:
   * whether a later save of an id within one batch takes the place of an earlier one (default: always);
   * the store applies the same rule against what it already holds.
   */
  constructor(
    private readonly write: WriteResultBatch<Item>,
    private readonly maxBatch = 500,
    private readonly replaces: (earlier: Item, later: Item) => boolean = () => true,
  ) {}

  /** Resolves once `item` (or a later save of the same id in the same batch) is stored. */
  save(id: string, item: Item): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ id, item, resolve, reject });
      this.schedule();
    });
  }

  /** Wait until every save made so far has settled (before the connection closes). */
  async drain(): Promise<void> {
    while (this.inFlight || this.pending.length > 0) {
      if (!this.inFlight) this.flush();
      await this.inFlight;
    }
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (!this.inFlight) this.flush();
    });
  }

  private flush(): void {
    if (this.pending.length === 0) return;
    const batch = takeBatch(this.pending, this.maxBatch, this.replaces);
    this.pending = this.pending.slice(batch.taken);
    this.inFlight = this.send(batch.items, batch.callers).finally(() => {
      this.inFlight = undefined;
      if (this.pending.length > 0) this.schedule();
    });
  }

  private async send(items: Map<string, Item>, callers: Map<string, PendingSave<Item>[]>): Promise<void> {
    let failures: ReadonlyMap<string, unknown> | undefined;
    try {
      failures = await this.write([...items.values()]);
    } catch (error) {
      for (const waiting of callers.values()) for (const caller of waiting) caller.reject(error);
      return;
    }
    for (const [id, waiting] of callers) {
      for (const caller of waiting) {
        if (failures?.has(id)) caller.reject(failures.get(id));
        else caller.resolve();
      }
    }
  }
}

/**
 * The next batch from the front of `pending`: at most `maxBatch` distinct ids, each holding the item of
 * its last save within the batch that `replaces` lets through. `taken` is how many pending saves it covers.
 */
function takeBatch<Item>(
  pending: readonly PendingSave<Item>[],
  maxBatch: number,
  replaces: (earlier: Item, later: Item) => boolean,
): { items: Map<string, Item>; callers: Map<string, PendingSave<Item>[]>; taken: number } {
  const items = new Map<string, Item>();
  const callers = new Map<string, PendingSave<Item>[]>();
  let taken = 0;
  for (const save of pending) {
    const earlier = items.get(save.id);
    if (earlier === undefined && items.size >= maxBatch) break;
    if (earlier === undefined || replaces(earlier, save.item)) items.set(save.id, save.item);
    let waiting = callers.get(save.id);
    if (!waiting) {
      waiting = [];
      callers.set(save.id, waiting);
    }
    waiting.push(save);
    taken += 1;
  }
  return { items, callers, taken };
}
