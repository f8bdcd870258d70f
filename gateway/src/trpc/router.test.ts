import { describe, expect, expectTypeOf, it } from 'vitest';
import { TRPCError } from '@trpc/server';
import type { inferRouterInputs, inferRouterOutputs } from '@trpc/server';
import { CodeCellError, ERROR_CODES, ERROR_CODE_TABLE, runtimeList } from '@codecell/protocol';
import type { Health, RunCodeOutput, Runtime } from '@codecell/protocol';
import type { GatewayContext } from './context.js';
import { codecellCodeOf, toTRPCError } from './errors.js';
import { appRouter } from './router.js';
import type { AppRouter } from './router.js';

const unused = (): never => {
  throw new Error('not used by this test');
};

function caller(overrides: Partial<GatewayContext['runs']> = {}) {
  const ctx: GatewayContext = {
    caller: { principal: null, credential: null, address: '127.0.0.1' },
    runs: {
      submit: () => Promise.resolve({ jobId: 'job1', position: 0 }),
      sendStdin: () => Promise.resolve(),
      stop: () => Promise.resolve(),
      ...overrides,
    },
    rooms: {
      createRoom: (_caller, input) => Promise.resolve({ roomId: input.roomId ?? 'room1', created: true }),
      getRoom: () => Promise.resolve({ exists: true, title: 'T', files: ['main.py'], entry: 'main.py', createdAt: 1, role: 'owner' }),
      mine: unused,
      deleteRoom: unused,
    },
    sharing: { createLink: unused, listLinks: unused, revokeLink: unused, linkInfo: unused, redeemLink: unused, members: unused, setRole: unused, removeMember: unused },
    auth: { me: unused, setup: unused, signUp: unused, signIn: unused, signOut: unused, createToken: unused, listTokens: unused, revokeToken: unused, createInvite: unused },
    quotas: { usage: unused },
    setCookie: unused,
    health: () => Promise.resolve({ ok: false, sandbox: null, message: 'down', gatewayId: 'gw-test', database: { kind: 'sqlite', ok: true, latencyMs: 0, message: null }, fleet: null }),
    runtimes: () => Promise.resolve(runtimeList(new Map([['py', '3.11.2']]))),
  };
  return appRouter.createCaller(ctx);
}

describe('appRouter', () => {
  it('parses inputs with the protocol schemas (defaults applied) and returns at once', async () => {
    let seen: unknown;
    const c = caller({ submit: (_caller, input) => ((seen = input), Promise.resolve({ jobId: 'job1', position: 3 })) });
    await expect(c.runCode({ files: [{ path: 'main.py', content: 'print(1)' }] })).resolves.toEqual({ jobId: 'job1', position: 3 });
    expect(seen).toEqual({ language: 'py', entry: 'main.py', files: [{ path: 'main.py', content: 'print(1)' }] });
    await expect(c.sendStdin({ jobId: 'job1', data: 'x' })).resolves.toEqual({ ok: true });
    await expect(c.stopRun({ jobId: 'job1' })).resolves.toEqual({ ok: true });
    await expect(c.health()).resolves.toMatchObject({ ok: false, sandbox: null, message: 'down' });
  });

  it('rejects bad input as invalid_request with a readable message', async () => {
    const err = await caller().stopRun({ jobId: '../x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TRPCError);
    expect((err as TRPCError).code).toBe('BAD_REQUEST');
    expect(codecellCodeOf(err as TRPCError)).toBe('invalid_request');
    expect((err as TRPCError).message).toBe('invalid input: jobId: jobId must be 1-64 of [A-Za-z0-9_-]');
  });

  it.each(ERROR_CODES)('maps CodeCellError %s through ERROR_CODE_TABLE', async (code) => {
    const c = caller({ stop: () => Promise.reject(new CodeCellError(code, `msg for ${code}`)) });
    const err = (await c.stopRun({ jobId: 'j' }).catch((e: unknown) => e)) as TRPCError;
    expect(err.code).toBe(ERROR_CODE_TABLE[code].trpc);
    expect(err.message).toBe(`msg for ${code}`);
    expect(codecellCodeOf(err)).toBe(code);
  });

  it('turns unknown throws into internal_error', () => {
    const err = toTRPCError(new Error('kaboom'));
    expect(err.code).toBe('INTERNAL_SERVER_ERROR');
    expect(codecellCodeOf(err)).toBe('internal_error');
  });

  it('exposes the types the frontend builds on', () => {
    type Out = inferRouterOutputs<AppRouter>;
    type In = inferRouterInputs<AppRouter>;
    expectTypeOf<Out['runCode']>().toEqualTypeOf<RunCodeOutput>();
    expectTypeOf<Out['runtimes']>().toEqualTypeOf<Runtime[]>();
    expectTypeOf<Out['health']['sandbox']>().toEqualTypeOf<Health | null>();
    expectTypeOf<Out['sendStdin']>().toEqualTypeOf<{ ok: true }>();
    expectTypeOf<In['runCode']['entry']>().toEqualTypeOf<string | undefined>();
    expectTypeOf<In['sendStdin']>().toEqualTypeOf<{ jobId: string; data: string; eof?: boolean | undefined }>();
  });
});
