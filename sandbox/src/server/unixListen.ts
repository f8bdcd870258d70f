/**
 * Listening on a Unix socket (SANDBOX_SOCKET) instead of TCP: the socket is
 * created mode 0600, so only the sandbox's own user (the gateway's, on one
 * host) can connect, and no web page can reach it at all.
 * @module
 */
import { chmodSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import type { Server } from 'node:net';
import { dirname } from 'node:path';
import { CodeCellError } from '@codecell/protocol';

/**
 * Listens on `path`. A socket a dead sandbox left there is replaced; any
 * other file is refused rather than deleted.
 * @throws CodeCellError `sandbox_unavailable` when the path is taken by something else
 */
export async function listenOnUnixSocket(server: Server, path: string): Promise<void> {
  const st = lstatSync(path, { throwIfNoEntry: false });
  if (st && !st.isSocket()) {
    throw new CodeCellError('sandbox_unavailable', `SANDBOX_SOCKET=${path} exists and is not a socket; refusing to replace it. Remove it or choose another path`);
  }
  if (st) unlinkSync(path); // a dead sandbox's socket (a live one would make listen fail below)
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // The socket file is created inside listen(); a tight umask makes it 0600
    // from the start, with no moment at which another user could connect.
    const umask = setUmask(0o177);
    try {
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    } finally {
      if (umask !== undefined) setUmask(umask);
    }
  });
  chmodSync(path, 0o600); // also where the umask could not be set (worker threads)
}

function setUmask(mask: number): number | undefined {
  try {
    return process.umask(mask);
  } catch {
    return undefined; // not allowed in worker threads
  }
}
