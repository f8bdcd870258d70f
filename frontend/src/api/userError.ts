/**
 * Turns anything thrown by the tRPC client (or fetch, or a WebSocket) into a
 * message for the page. Every error the user can act on is shown, never only
 * logged.
 * @module
 */

/** An error as the page shows it. */
export interface UserError {
  /** A CodeCell error code (`sandbox_unavailable`…) or `gateway_unreachable`. */
  readonly code: string;
  readonly message: string;
}

/** Code used when the gateway cannot be reached at all. */
export const GATEWAY_UNREACHABLE = 'gateway_unreachable';

interface TrpcLikeError {
  readonly message: string;
  readonly data?: { readonly codecellCode?: unknown; readonly code?: unknown } | null;
  readonly cause?: unknown;
}

function isTrpcLike(err: unknown): err is TrpcLikeError {
  return err instanceof Error && err.name === 'TRPCClientError';
}

/** Network-level failures as reported by fetch in Chromium, Firefox and Safari. */
const NETWORK_FAILURE = /failed to fetch|networkerror|load failed|network request failed|fetch failed/i;

/**
 * @param apiBase the gateway URL, named in "cannot reach" messages
 * @example toUserError(new TypeError('Failed to fetch'), 'http://localhost:4000').code // 'gateway_unreachable'
 */
export function toUserError(err: unknown, apiBase: string): UserError {
  if (isTrpcLike(err)) {
    const code = err.data?.codecellCode ?? err.data?.code;
    if (typeof code === 'string') return { code, message: err.message };
    // No `data`: the request never got a tRPC answer.
    if (isNetworkFailure(err.cause) || NETWORK_FAILURE.test(err.message)) return unreachable(apiBase);
    return {
      code: GATEWAY_UNREACHABLE,
      message: `The gateway at ${apiBase} gave an unexpected answer (${err.message}). Is it a CodeCell gateway?`,
    };
  }
  if (isNetworkFailure(err)) return unreachable(apiBase);
  // A refusal on the page's stream socket carries the gateway's code.
  if (err instanceof Error && err.name === 'PageSocketError' && typeof (err as { code?: unknown }).code === 'string') {
    const code = (err as Error & { code: string }).code;
    return code === GATEWAY_UNREACHABLE ? unreachable(apiBase) : { code, message: err.message };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { code: 'internal_error', message };
}

function isNetworkFailure(err: unknown): boolean {
  return err instanceof TypeError && NETWORK_FAILURE.test(err.message);
}

function unreachable(apiBase: string): UserError {
  return {
    code: GATEWAY_UNREACHABLE,
    message: `Cannot reach the gateway at ${apiBase}. Check that it is running (npm start) and reload.`,
  };
}
