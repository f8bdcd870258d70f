/**
 * The operations of a page's `ws /stream` socket as its caller (issue 12):
 * the same checks as the tRPC procedures (`runCode`, `sendStdin`, `stopRun`)
 * and the stream's A3 rule for watching, through the gateway's RunService.
 * @module
 */
import { CodeCellError, runCodeInputSchema } from '@codecell/protocol';
import type { Caller } from '../auth/Caller.js';
import type { RunManager } from '../runs/RunManager.js';
import type { RunService } from '../runs/RunService.js';
import type { PageSession } from './PageConnection.js';

/** The page session of `caller`. */
export function pageSession(o: { caller: Caller; runService: RunService; runs: RunManager }): PageSession {
  const { caller, runService, runs } = o;
  /** Checks `run` on the job, then hands back the delivery (queued in order already). */
  const queued = async (jobId: string, send: () => Promise<void>): Promise<{ delivered: Promise<void> }> => {
    await runService.requireJob(caller, jobId, 'run');
    const delivered = send();
    delivered.catch(() => undefined); // the connection reports it
    return { delivered };
  };
  return {
    userId: caller.principal?.userId ?? null,
    submit: async (input) => {
      const parsed = runCodeInputSchema.safeParse(input);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw new CodeCellError('invalid_request', `invalid input: ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`);
      }
      return runService.submit(caller, parsed.data);
    },
    watch: async (jobId, subscriber) => {
      const run = await runService.requireJob(caller, jobId, 'read');
      const subscription = await runs.subscribe(jobId, subscriber);
      if (!subscription) throw new CodeCellError('not_found', `no run ${jobId}: it never existed or finished a while ago`);
      return { subscription, roomId: run.sessionId ?? null };
    },
    sendStdin: (input) => queued(input.jobId, () => runs.sendStdin(input)),
    resize: (jobId, size) => queued(jobId, () => runs.resize(jobId, size)),
    stop: (jobId) => runService.stop(caller, { jobId }),
    openTerminal: (input) => runService.openTerminal(caller, input),
    followTerminals: (roomId, listener) => runService.followTerminals(caller, roomId, listener),
  };
}
