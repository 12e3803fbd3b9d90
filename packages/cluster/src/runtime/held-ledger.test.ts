/** The held-package ledger: how much the fetcher may reserve, and when it is told that may have changed. */
import { describe, expect, it } from 'vitest';
import { heldPackage } from '../test-support/runtime-parts.js';
import { HeldLedger } from './held-ledger.js';

describe('the held-package ledger', () => {
  it('counts buffered, running and reserving packages against queueLimit, but not those settling', () => {
    const ledger = new HeldLedger(10);
    const entries = Array.from({ length: 4 }, () => heldPackage(Infinity));
    for (const entry of entries) ledger.enqueue(entry);
    expect(ledger.room()).toBe(6);
    ledger.buffer.shift();
    ledger.started(entries[0]!);
    expect(ledger.room()).toBe(6);
    ledger.reserveStarted(5);
    expect(ledger.room()).toBe(1);
    ledger.reserveEnded(5);
    ledger.runEnded(); // settling now: no longer counted
    expect(ledger.room()).toBe(7);
    expect(ledger.counts()).toEqual({ buffered: 3, running: 0, total: 4 });
    ledger.forget(entries[0]!);
    expect(ledger.counts()).toEqual({ buffered: 3, running: 0, total: 3 });
  });

  it('leaves no room while too many packages are being settled', () => {
    const ledger = new HeldLedger(10);
    for (let i = 0; i < 257; i++) ledger.hold(heldPackage(Infinity));
    expect(ledger.room()).toBe(0);
  });

  it('wakes every waiter when a run ends or a package is forgotten', async () => {
    const ledger = new HeldLedger(10);
    const entry = heldPackage(Infinity);
    ledger.enqueue(entry);
    let woken = 0;
    void ledger.whenRoomMayChange().then(() => woken++);
    void ledger.whenRoomMayChange().then(() => woken++);
    ledger.forget(heldPackage(Infinity)); // not held: nothing changes
    await Promise.resolve();
    expect(woken).toBe(0);
    ledger.forget(entry);
    await new Promise((resolve) => setImmediate(resolve));
    expect(woken).toBe(2);
  });
});
