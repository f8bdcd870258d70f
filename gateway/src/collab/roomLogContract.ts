/**
 * The contract every {@link RoomLog} passes (SQLite and PostgreSQL): call
 * {@link describeRoomLogContract} from the implementation's test file.
 * @module
 */
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { RoomLog } from './RoomLog.js';

/** Registers the suite under `name`; `open` makes a fresh, empty log. */
export function describeRoomLogContract(name: string, open: () => Promise<{ log: RoomLog; close: () => Promise<void> }>): void {
  describe(`RoomLog contract: ${name}`, () => {
    it('appends in order and loads what it appended, per room', async () => {
      const { log, close } = await open();
      try {
        const doc = new Y.Doc();
        const writes: Promise<void>[] = [];
        doc.on('update', (u: Uint8Array) => writes.push(log.appendUpdate('r1', u)));
        for (let i = 0; i < 5; i++) doc.getText('t').insert(i, String(i));
        await Promise.all(writes);
        expect(await log.updateCount('r1')).toBe(5);
        const copy = new Y.Doc();
        for (const u of await log.loadUpdates('r1')) Y.applyUpdate(copy, u);
        expect(copy.getText('t').toJSON()).toBe('01234');
        expect(await log.loadUpdates('other')).toEqual([]);
      } finally {
        await close();
      }
    });

    it("compaction merges what is stored with the caller's state: an update the caller never saw survives", async () => {
      const { log, close } = await open();
      try {
        const a = new Y.Doc();
        a.getText('t').insert(0, 'from A. ');
        await log.appendUpdate('r', Y.encodeStateAsUpdate(a));
        // Another gateway appends an update A does not have.
        const b = new Y.Doc();
        Y.applyUpdate(b, Y.encodeStateAsUpdate(a));
        const before = Y.encodeStateVector(b);
        b.getText('t').insert(b.getText('t').length, 'from B.');
        await log.appendUpdate('r', Y.encodeStateAsUpdate(b, before));
        expect(await log.updateCount('r')).toBe(2);
        await log.compact('r', Y.encodeStateAsUpdate(a));
        expect(await log.updateCount('r')).toBe(1);
        const loaded = new Y.Doc();
        Y.applyUpdate(loaded, Y.mergeUpdates(await log.loadUpdates('r')));
        expect(loaded.getText('t').toJSON()).toBe('from A. from B.');
        await log.deleteLog('r');
        expect(await log.loadUpdates('r')).toEqual([]);
      } finally {
        await close();
      }
    });
  });
}
