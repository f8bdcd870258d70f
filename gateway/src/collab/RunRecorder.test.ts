import { describe, expect, it, vi } from 'vitest';
import * as Y from 'yjs';
import type { RoomRunRecord } from '@codecell/protocol';
import { captureLogger } from '../test/captureLogger.js';
import { RunRecorder } from './RunRecorder.js';
import type { RoomHandle } from './RunRecorder.js';
import { roomRuns } from './roomDoc.js';

const record = (jobId: string, status: RoomRunRecord['status']): RoomRunRecord => ({
  jobId,
  startedBy: null,
  startedAt: 1,
  status,
  endedAt: null,
  wallMs: null,
  exitCode: null,
});

/** Rooms as plain docs; opening is slow (a macrotask) to expose ordering bugs. */
function fakeRooms(): { docs: Map<string, Y.Doc>; open: Map<string, number>; openRoom: (id: string) => Promise<RoomHandle> } {
  const docs = new Map<string, Y.Doc>();
  const open = new Map<string, number>();
  const openRoom = async (roomId: string): Promise<RoomHandle> => {
    await new Promise((r) => setTimeout(r, 5));
    const doc = docs.get(roomId) ?? new Y.Doc();
    docs.set(roomId, doc);
    open.set(roomId, (open.get(roomId) ?? 0) + 1);
    return {
      transact: async (fn) => doc.transact(() => fn(doc)),
      disconnect: async () => void open.set(roomId, (open.get(roomId) ?? 0) - 1),
    };
  };
  return { docs, open, openRoom };
}

describe('RunRecorder', () => {
  it('writes updates in order, keeps the room open while runs are live, then releases it', async () => {
    const rooms = fakeRooms();
    const recorder = new RunRecorder({ openRoom: rooms.openRoom, limits: { maxFileBytes: 1 << 20, maxRoomBytes: 1 << 22, maxRoomFiles: 100 }, lingerMs: 0, logger: captureLogger().logger });
    recorder.onRunUpdate({ roomId: 'r', record: record('a', 'queued') });
    recorder.onRunUpdate({ roomId: 'r', record: record('b', 'queued') });
    recorder.onRunUpdate({ roomId: 'r', record: record('a', 'running') });
    expect(recorder.isLive('a')).toBe(true);
    recorder.onRunUpdate({ roomId: 'r', record: record('a', 'ok') });
    expect(recorder.isLive('a')).toBe(false);
    // Writes are asynchronous: wait for them rather than for a fixed time (a loaded CI host took over 30 ms).
    await vi.waitFor(() => {
      const doc = rooms.docs.get('r') as Y.Doc;
      expect(roomRuns(doc).toArray().map((r) => `${r.jobId}:${r.status}`)).toEqual(['a:ok', 'b:queued']);
    });
    expect(rooms.open.get('r')).toBe(1);
    recorder.onRunUpdate({ roomId: 'r', record: record('b', 'killed') });
    await vi.waitFor(() => expect(rooms.open.get('r')).toBe(0));
    await recorder.dispose();
  });

  it('keeps a room open for a while after its last run, so the next run does not load it again', async () => {
    const rooms = fakeRooms();
    let opened = 0;
    const openRoom = (id: string): Promise<RoomHandle> => {
      opened++;
      return rooms.openRoom(id);
    };
    const recorder = new RunRecorder({ openRoom, limits: { maxFileBytes: 1 << 20, maxRoomBytes: 1 << 22, maxRoomFiles: 100 }, lingerMs: 200, logger: captureLogger().logger });
    recorder.onRunUpdate({ roomId: 'r', record: record('a', 'queued') });
    recorder.onRunUpdate({ roomId: 'r', record: record('a', 'ok') });
    await vi.waitFor(() => expect(roomRuns(rooms.docs.get('r') as Y.Doc).toArray().map((r) => r.status)).toEqual(['ok']));
    await new Promise((r) => setTimeout(r, 50));
    expect(rooms.open.get('r')).toBe(1); // lingering
    recorder.onRunUpdate({ roomId: 'r', record: record('b', 'queued') });
    recorder.onRunUpdate({ roomId: 'r', record: record('b', 'ok') });
    await vi.waitFor(() => expect(roomRuns(rooms.docs.get('r') as Y.Doc).length).toBe(2));
    expect(opened).toBe(1);
    await vi.waitFor(() => expect(rooms.open.get('r')).toBe(0)); // released once it lingered
    // A room lingering when the gateway stops is released at once.
    recorder.onRunUpdate({ roomId: 'r', record: record('c', 'ok') });
    await vi.waitFor(() => expect(rooms.open.get('r')).toBe(1));
    await recorder.dispose();
    expect(rooms.open.get('r')).toBe(0);
  });

  it('logs a room that cannot be opened and goes on with others', async () => {
    const rooms = fakeRooms();
    const log = captureLogger();
    const recorder = new RunRecorder({
      openRoom: (id) => (id === 'bad' ? Promise.reject(new Error('disk gone')) : rooms.openRoom(id)),
      limits: { maxFileBytes: 1 << 20, maxRoomBytes: 1 << 22, maxRoomFiles: 100 },
      logger: log.logger,
    });
    recorder.onRunUpdate({ roomId: 'bad', record: record('x', 'queued') });
    recorder.onRunUpdate({ roomId: 'good', record: record('y', 'queued') });
    await recorder.dispose();
    expect(log.entries.some((e) => e.level === 'error' && String(e.data?.['error']).includes('disk gone'))).toBe(true);
    expect(roomRuns(rooms.docs.get('good') as Y.Doc).length).toBe(1);
    expect(rooms.open.get('good')).toBe(0);
  });
});
