/**
 * The gateway's extension points (Q3): extensions passed to `createGateway`
 * run their hooks in order, and a hook that throws refuses what is being done,
 * in tRPC procedures and in `/collab` (their Hocuspocus extensions).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Extension, beforeSyncPayload } from '@hocuspocus/server';
import * as Y from 'yjs';
import { CodeCellError, ROOM_DOC } from '@codecell/protocol';
import { CollabRejection } from './collab/CollabRejection.js';
import type { GatewayExtension } from './extensions.js';
import { waitUntil } from './test/collabClients.js';
import { createAdmin, startHosted } from './test/hosted.js';
import { outcome } from './test/sessions.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('gateway extensions', () => {
  it('run their hooks in order; a throw refuses runs, rooms or room actions; afterRun releases what beforeRun counted', async () => {
    const calls: string[] = [];
    const counting: GatewayExtension = {
      extensionName: 'counting',
      beforeRun: async ({ owner }) => void calls.push(`before ${owner.displayName ?? ''}`),
      afterRun: ({ accepted }) => void calls.push(`after accepted=${String(accepted)}`),
    };
    const closedOnFridays: GatewayExtension = {
      extensionName: 'closed',
      beforeRun: async () => {
        throw new CodeCellError('capacity_exceeded', 'no runs today');
      },
      beforeCreateRoom: async ({ caller }) => {
        if (caller.principal?.username === 'admin') calls.push('room by admin');
      },
      onAuthorize: async ({ action }) => {
        if (action === 'share') throw new CodeCellError('forbidden', 'sharing is off on this gateway');
      },
    };
    const h = await startHosted({ overrides: { extensions: [counting, closedOnFridays] } });
    cleanups.push(() => h.close());
    const admin = await createAdmin(h.gw, { displayName: 'Ada' });
    const { roomId } = await admin.trpc.createRoom.mutate({});
    const err = await admin.trpc.runCode.mutate({ roomId, files: [{ path: 'main.py', content: '' }] }).catch((e: Error) => e);
    expect((err as Error).message).toBe('no runs today');
    expect(calls).toEqual(['room by admin', 'before Ada', 'after accepted=false']);
    expect(await outcome(admin.trpc.rooms.createLink.mutate({ roomId, role: 'viewer' }))).toBe('forbidden');
    expect(h.fake.requests).toEqual([]);
  });

  it('contribute Hocuspocus extensions to /collab', async () => {
    const noTabs: Extension = {
      extensionName: 'no-tabs',
      beforeSync: async ({ type, payload, document }: beforeSyncPayload) => {
        // Sync step 2 and updates carry Yjs updates; step 1 a state vector.
        if (type === 0) return;
        const doc = new Y.Doc();
        Y.applyUpdate(doc, Y.encodeStateAsUpdate(document));
        Y.applyUpdate(doc, payload);
        if (doc.getMap<Y.Text>(ROOM_DOC.files).get('main.py')?.toJSON().includes('\t')) throw new CollabRejection('invalid_request', 'no tabs here');
      },
    };
    const h = await startHosted({ overrides: { extensions: [{ extensionName: 'style', collabExtensions: [noTabs] }] } });
    cleanups.push(() => h.close());
    const admin = await createAdmin(h.gw);
    const { roomId } = await admin.trpc.createRoom.mutate({});
    const client = admin.join(roomId);
    cleanups.push(() => client.destroy());
    await client.synced();
    client.doc.getMap<Y.Text>(ROOM_DOC.files).get('main.py')?.insert(0, '\tindented');
    await waitUntil(() => client.closes.length > 0, { what: 'the refusal' });
    expect(client.closes).toEqual(['invalid_request: no tabs here']);
  });
});
