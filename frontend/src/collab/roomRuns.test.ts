import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { RoomRunRecord } from '@codecell/protocol';
import { connectionView } from './connection';
import { formatRunTime, isLiveRun, NewestRunTracker, readRuns, runDurationMs, runsOf } from './roomRuns';

const run = (jobId: string, over: Partial<RoomRunRecord> = {}): RoomRunRecord => ({
  jobId,
  startedBy: 'Ada',
  startedAt: 1_000,
  status: 'queued',
  endedAt: null,
  wallMs: null,
  exitCode: null,
  ...over,
});

describe('room runs', () => {
  it('reads well-formed records only, oldest first', () => {
    const doc = new Y.Doc();
    runsOf(doc).push([run('a'), { jobId: 'bad id!' }, run('b', { status: 'running' })]);
    expect(readRuns(doc).map((r) => r.jobId)).toEqual(['a', 'b']);
  });
  it('gives durations and liveness', () => {
    expect(runDurationMs(run('a', { status: 'ok', wallMs: 12.5, endedAt: 5_000 }))).toBe(12.5);
    expect(runDurationMs(run('a', { status: 'killed', endedAt: 1_800 }))).toBe(800);
    expect(runDurationMs(run('a', { status: 'running' }))).toBeNull();
    expect(isLiveRun(run('a', { status: 'running' }))).toBe(true);
    expect(isLiveRun(run('a', { status: 'timeout' }))).toBe(false);
  });
  it('switches to a run when it becomes the newest, once', () => {
    const t = new NewestRunTracker();
    expect(t.update([])).toBeNull();
    expect(t.update([run('a')])).toBe('a');
    expect(t.update([run('a', { status: 'running' })])).toBeNull();
    expect(t.update([run('a'), run('b')])).toBe('b');
    expect(t.update([run('a'), run('b', { status: 'ok' })])).toBeNull();
  });
  it('attaches to the newest run of a room opened with history', () => {
    expect(new NewestRunTracker().update([run('a'), run('b')])).toBe('b');
  });
  it('formats times', () => {
    const at = new Date(2026, 2, 4, 14, 3, 7).getTime();
    expect(formatRunTime(at, at + 1000)).toMatch(/14:03:07/);
    expect(formatRunTime(at, at + 3 * 86_400_000)).toMatch(/14:03/);
  });
});

describe('connectionView', () => {
  const base = { socket: 'connected', synced: true, online: true, unsynced: 0 } as const;
  it('is connected once synced', () => {
    expect(connectionView(base)).toMatchObject({ kind: 'connected', label: 'Connected', unsynced: false });
  });
  it('is connecting during the handshake', () => {
    expect(connectionView({ ...base, synced: false }).kind).toBe('connecting');
    expect(connectionView({ ...base, socket: 'connecting' }).kind).toBe('connecting');
  });
  it('is offline without a socket or network, keeping unsynced changes visible', () => {
    expect(connectionView({ ...base, socket: 'disconnected', unsynced: 3 })).toMatchObject({ kind: 'offline', unsynced: true });
    expect(connectionView({ ...base, online: false }).kind).toBe('offline');
  });
});
