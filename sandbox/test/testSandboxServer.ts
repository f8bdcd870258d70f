/**
 * Test helper: the sandbox HTTP server with the options the route tests share
 * (a healthy health body, Python's runtime, a silent logger, 1 MiB run bodies,
 * 127.0.0.1 as the only Host); each test gives its runs and token and
 * overrides what it is about.
 */
import type { Server } from 'node:http';
import { runtimeInfos } from '@codecell/protocol';
import type { Health } from '@codecell/protocol';
import { silentLogger } from '@codecell/server-kit';
import { createSandboxServer } from '../src/server/httpServer.js';
import type { SandboxHttpOptions } from '../src/server/httpServer.js';

export function testSandboxServer(o: Pick<SandboxHttpOptions, 'runs' | 'token'> & Partial<SandboxHttpOptions>): Server {
  return createSandboxServer({
    health: () => ({ ok: true }) as unknown as Health,
    runtimes: () => ({ runtimes: runtimeInfos({ py: '3.11.2' }) }),
    logger: silentLogger,
    maxRunBodyBytes: 1024 * 1024,
    allowedHosts: new Set(['127.0.0.1']),
    ...o,
  });
}
