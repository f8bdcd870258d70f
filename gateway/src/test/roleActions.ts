/**
 * The actions of the role matrix, each tried for real against a gateway and
 * reported as `ok`, `read_only` (edits not applied) or the refusal's error code.
 * @module
 */
import type * as Y from 'yjs';
import { ROOM_DOC, parseCollabReason } from '@codecell/protocol';
import type { ServerResponse } from 'node:http';
import type { Gateway } from '../server.js';
import { trpcClient } from './clients.js';
import { openStream } from './clients.js';
import { joinRoom, waitUntil } from './collabClients.js';
import { startNdjson, writeEvent } from './fakeSandboxServer.js';
import type { FakeHandler } from './fakeSandboxServer.js';
import { outcome } from './sessions.js';
import type { TestUser } from './sessions.js';

/** A fake sandbox whose runs (and terminal sessions) start and keep running until killed; stdin and resizes are accepted. */
export function runningSandbox(): FakeHandler {
  let n = 0;
  const open = new Map<string, ServerResponse>();
  return (req, res) => {
    if (req.path === '/run' || req.path === '/terminal') {
      const id = `sbx-${++n}`;
      startNdjson(res, id);
      writeEvent(res, { type: 'start', jobId: id, vmId: 'vm', at: 1 });
      open.set(id, res);
      return;
    }
    const m = /^\/run\/([^/]+)\/(stdin|kill|resize)$/.exec(req.path);
    if (m?.[2] === 'kill') {
      const run = open.get(m[1] ?? '');
      open.delete(m[1] ?? '');
      run?.end(`${JSON.stringify({ type: 'exit', code: null, signal: 'SIGKILL', status: 'killed', cpuMs: 5, wallMs: 6, maxRssKb: 7 })}\n`);
    }
    res.writeHead(202, { 'Content-Type': 'application/json' }).end('{}');
  };
}

/** The code a stream close code stands for. */
const CLOSE_CODES: Record<number, string> = { 4401: 'unauthorized', 4403: 'forbidden', 4404: 'not_found', 4410: 'link_invalid', 4429: 'capacity_exceeded' };

/** Tries actions as `user` (null: no session at all). */
export class RoleActions {
  readonly #gw: Gateway;
  readonly #user: TestUser | null;
  readonly #cleanups: Array<() => void>;

  constructor(gw: Gateway, user: TestUser | null, cleanups: Array<() => void>) {
    this.#gw = gw;
    this.#user = user;
    this.#cleanups = cleanups;
  }

  get #trpc() {
    return this.#user?.trpc ?? trpcClient(this.#gw.url);
  }

  read(roomId: string): Promise<string> {
    return outcome(this.#trpc.getRoom.query({ roomId }));
  }

  run(roomId: string): Promise<string> {
    return outcome(this.#trpc.runCode.mutate({ roomId, files: [{ path: 'main.py', content: 'print(1)' }] }));
  }

  stdin(jobId: string): Promise<string> {
    return outcome(this.#trpc.sendStdin.mutate({ jobId, data: 'x\n' }));
  }

  stop(jobId: string): Promise<string> {
    return outcome(this.#trpc.stopRun.mutate({ jobId }));
  }

  share(roomId: string): Promise<string> {
    return outcome(this.#trpc.rooms.createLink.mutate({ roomId, role: 'viewer' }));
  }

  delete(roomId: string): Promise<string> {
    return outcome(this.#trpc.rooms.delete.mutate({ roomId }));
  }

  /** Opens the run's stream: `ok` once `hello` arrives, else the close code's meaning. */
  async stream(jobId: string): Promise<string> {
    const s = openStream(this.#gw.url, jobId, this.#user?.headers() ?? {});
    this.#cleanups.push(() => s.ws.close());
    const result = await Promise.race([s.waitFor((m) => m.type === 'hello', 5_000).then(() => 'ok'), s.closed.then((c) => CLOSE_CODES[c.code] ?? `close ${c.code}`)]);
    return result;
  }

  /**
   * Joins the room and types into main.py: `ok` when the server's document has
   * the edit, `read_only` when the server refused it, else the refusal's code.
   */
  async edit(roomId: string): Promise<string> {
    const client = this.#user ? this.#user.join(roomId) : joinRoom(this.#gw.url, roomId);
    this.#cleanups.push(() => client.destroy());
    await waitUntil(() => client.provider.isSynced || client.refusals.length > 0, { what: `joining ${roomId}` });
    const refusal = client.refusals[0];
    if (refusal !== undefined) return parseCollabReason(refusal)?.code ?? refusal;
    const marker = `# edit ${Math.random().toString(36).slice(2)}\n`;
    client.doc.getMap<Y.Text>(ROOM_DOC.files).get('main.py')?.insert(0, marker);
    const serverText = (): string => this.#gw.collab.loadedDocument(roomId)?.getMap<Y.Text>(ROOM_DOC.files).get('main.py')?.toJSON() ?? '';
    try {
      await waitUntil(() => serverText().includes(marker), { timeoutMs: 500 });
      return 'ok';
    } catch {
      return client.provider.authorizedScope === 'readonly' && client.provider.unsyncedChanges > 0 ? 'read_only' : 'edit lost';
    }
  }
}
