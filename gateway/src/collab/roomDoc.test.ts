import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { MAX_ROOM_RUNS, helloTemplate, roomMetaSchema } from '@codecell/protocol';
import type { RoomRunRecord } from '@codecell/protocol';
import { STARTER_MAIN_PY, isRoomEmpty, starterFiles, roomFiles, roomMeta, roomRuns, seedRoom, settleStaleRuns, summarizeRoom, upsertRunRecord } from './roomDoc.js';

const record = (jobId: string, status: RoomRunRecord['status'] = 'queued'): RoomRunRecord => ({
  jobId,
  startedBy: null,
  startedAt: 1,
  status,
  endedAt: null,
  wallMs: null,
  exitCode: null,
});

describe('room document', () => {
  it('seeds once: main.py and meta in the protocol layout', () => {
    const doc = new Y.Doc();
    expect(isRoomEmpty(doc)).toBe(true);
    expect(seedRoom(doc, { title: 'T', createdAt: 7 })).toBe(true);
    expect((roomFiles(doc).get('main.py') as Y.Text).toJSON()).toBe(STARTER_MAIN_PY);
    expect(roomMetaSchema.parse(roomMeta(doc).toJSON())).toEqual({ entry: 'main.py', title: 'T', createdAt: 7, protocolVersion: 1 });
    expect(seedRoom(doc, { title: 'Other', createdAt: 8 })).toBe(false);
    expect(summarizeRoom(doc)).toEqual({ title: 'T', files: ['main.py'], entry: 'main.py', createdAt: 7 });
  });

  it("issue 10: seeds a room created for a language with that language's hello world, entry and meta.language", () => {
    const doc = new Y.Doc();
    expect(seedRoom(doc, { title: 'T', createdAt: 7, language: 'cpp' })).toBe(true);
    expect([...roomFiles(doc).keys()]).toEqual(['main.cpp']);
    expect((roomFiles(doc).get('main.cpp') as Y.Text).toJSON()).toBe(helloTemplate('cpp')[0]?.content);
    expect(roomMetaSchema.parse(roomMeta(doc).toJSON())).toEqual({ entry: 'main.cpp', title: 'T', createdAt: 7, protocolVersion: 1, language: 'cpp' });
    expect(starterFiles('py')).toEqual(starterFiles(null));
    expect(starterFiles('java')).toEqual([{ path: 'Main.java', content: expect.stringContaining('public class Main') as string }]);
  });

  it('keeps files a client already wrote and points entry at one of them', () => {
    const doc = new Y.Doc();
    roomFiles(doc).set('app.py', new Y.Text('print(1)'));
    seedRoom(doc, { title: 'T', createdAt: 1 });
    expect([...roomFiles(doc).keys()]).toEqual(['app.py']);
    expect(roomMeta(doc).get('entry')).toBe('app.py');
  });

  it('updates run records in place and keeps the newest MAX_ROOM_RUNS', () => {
    const doc = new Y.Doc();
    for (let i = 0; i < MAX_ROOM_RUNS + 5; i++) upsertRunRecord(doc, record(`j${i}`));
    upsertRunRecord(doc, { ...record('j10', 'ok'), endedAt: 2, wallMs: 3, exitCode: 0 });
    const runs = roomRuns(doc).toArray();
    expect(runs).toHaveLength(MAX_ROOM_RUNS);
    expect(runs[0]?.jobId).toBe('j5');
    expect(runs[5]).toEqual({ ...record('j10', 'ok'), endedAt: 2, wallMs: 3, exitCode: 0 });
  });

  it('ends records of runs the gateway no longer tracks', async () => {
    const doc = new Y.Doc();
    upsertRunRecord(doc, record('gone', 'running'));
    upsertRunRecord(doc, record('live', 'running'));
    upsertRunRecord(doc, record('done', 'ok'));
    expect(await settleStaleRuns(doc, { isLive: async (id) => id === 'live', now: 99 })).toBe(1);
    expect(roomRuns(doc).toArray().map((r) => [r.jobId, r.status, r.endedAt])).toEqual([
      ['gone', 'killed', 99],
      ['live', 'running', null],
      ['done', 'ok', null],
    ]);
  });
});
