import { describe, expect, it } from 'vitest';
import { GATEWAY_UNREACHABLE, toUserError } from './userError';

const BASE = 'http://localhost:4000';

function trpcError(message: string, data?: unknown, cause?: unknown): Error {
  const err = new Error(message, { cause }) as Error & { data?: unknown };
  err.name = 'TRPCClientError';
  err.data = data;
  return err;
}

describe('toUserError', () => {
  it('keeps the CodeCell code and message of a gateway error', () => {
    const err = trpcError('the sandbox did not answer', { code: 'SERVICE_UNAVAILABLE', codecellCode: 'sandbox_unavailable' });
    expect(toUserError(err, BASE)).toEqual({ code: 'sandbox_unavailable', message: 'the sandbox did not answer' });
  });
  it('falls back to the tRPC code', () => {
    expect(toUserError(trpcError('nope', { code: 'NOT_FOUND' }), BASE).code).toBe('NOT_FOUND');
  });
  it('reports an unreachable gateway, naming its URL', () => {
    const err = trpcError('Failed to fetch', undefined, new TypeError('Failed to fetch'));
    const ue = toUserError(err, BASE);
    expect(ue.code).toBe(GATEWAY_UNREACHABLE);
    expect(ue.message).toContain(BASE);
    expect(toUserError(new TypeError('Failed to fetch'), BASE).code).toBe(GATEWAY_UNREACHABLE);
  });
  it('reports a non-tRPC answer', () => {
    const ue = toUserError(trpcError('Unable to transform response from server'), BASE);
    expect(ue.code).toBe(GATEWAY_UNREACHABLE);
    expect(ue.message).toContain('unexpected answer');
  });
  it('passes other errors through', () => {
    expect(toUserError(new Error('boom'), BASE)).toEqual({ code: 'internal_error', message: 'boom' });
    expect(toUserError('str', BASE).message).toBe('str');
  });
});
