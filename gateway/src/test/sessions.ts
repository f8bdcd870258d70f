/**
 * Test users of a hosted gateway: a cookie jar per user (what a browser keeps
 * of the session cookie) with a tRPC client, stream and room joins that send it.
 * @module
 */
import type { TRPCClient } from '@trpc/client';
import { TRPCClientError } from '@trpc/client';
import type { AppRouter } from '../trpc/router.js';
import { openStream, trpcClient } from './clients.js';
import type { StreamReader } from './clients.js';
import { joinRoom } from './collabClients.js';
import type { RoomClient } from './collabClients.js';

/** One user agent: its cookies (or bearer token) and clients that send them. */
export interface TestUser {
  readonly trpc: TRPCClient<AppRouter>;
  /** The headers every request of this user carries. */
  headers(): Record<string, string>;
  /** Raw `Set-Cookie` values received, newest last. */
  readonly setCookies: string[];
  stream(jobId: string): StreamReader;
  join(roomId: string): RoomClient;
  /** Forgets the cookies (a new browser). */
  clear(): void;
}

/** A user whose cookie jar follows the gateway's `Set-Cookie` answers; `bearer` sends a token instead. */
export function testUser(baseUrl: string, o: { bearer?: string } = {}): TestUser {
  const jar = new Map<string, string>();
  const setCookies: string[] = [];
  const headers = (): Record<string, string> => {
    const h: Record<string, string> = {};
    if (o.bearer !== undefined) h['authorization'] = `Bearer ${o.bearer}`;
    if (jar.size > 0) h['cookie'] = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    return h;
  };
  const keep = (res: Response): void => {
    for (const c of res.headers.getSetCookie()) {
      setCookies.push(c);
      const [pair = '', ...attrs] = c.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (attrs.some((a) => a.trim().toLowerCase() === 'max-age=0') || value === '') jar.delete(name);
      else jar.set(name, value);
    }
  };
  const fetchWithJar: typeof fetch = async (input, init) => {
    const res = await fetch(input, init);
    keep(res);
    return res;
  };
  const trpc = trpcClient(baseUrl, headers, fetchWithJar);
  return {
    trpc,
    headers,
    setCookies,
    stream: (jobId) => openStream(baseUrl, jobId, headers()),
    join: (roomId) => joinRoom(baseUrl, roomId, { headers: headers() }),
    clear: () => jar.clear(),
  };
}

/** The CodeCell code of a failed call (or 'ok' when it resolved). */
export async function outcome(call: Promise<unknown>): Promise<string> {
  try {
    await call;
    return 'ok';
  } catch (err) {
    if (err instanceof TRPCClientError) {
      const code = (err.data as { codecellCode?: unknown } | undefined)?.codecellCode;
      return typeof code === 'string' ? code : err.message;
    }
    throw err;
  }
}
