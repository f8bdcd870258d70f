/**
 * The sandbox's own time to first output of each run, read from its debug log
 * (`first output {"jobId":…,"afterMs":…}`: from the request's arrival to the
 * first output written, sandbox/src/server/httpServer.ts). A run's time to
 * first output through the gateway minus this is what the gateway and the
 * wires add to that run, without the VM's run-to-run variance.
 * @module
 */

/** Collects the sandbox's `first output` log lines as they come, from stderr chunks split anywhere. */
export class SandboxFirstOutput {
  readonly #afterMs = new Map<string, number>();
  #partial = '';

  /** Give every stderr chunk of the sandbox (LOG_LEVEL=debug). */
  readonly feed = (text: string): void => {
    const lines = (this.#partial + text).split('\n');
    this.#partial = lines.pop() ?? '';
    for (const line of lines) {
      const at = line.indexOf('] first output {');
      if (at < 0) continue;
      const data = JSON.parse(line.slice(at + '] first output '.length)) as { jobId?: unknown; afterMs?: unknown };
      if (typeof data.jobId === 'string' && typeof data.afterMs === 'number') this.#afterMs.set(data.jobId, data.afterMs);
    }
  };

  /** The sandbox's ms from request to first output of its job `jobId`, once logged. */
  of(jobId: string): number | undefined {
    return this.#afterMs.get(jobId);
  }

  /** Resolves once every job of `jobIds` was logged. @throws after `timeoutMs`, naming how many are missing */
  async waitFor(jobIds: readonly string[], timeoutMs = 5_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const missing = jobIds.filter((id) => !this.#afterMs.has(id)).length;
      if (missing === 0) return;
      if (Date.now() > deadline) throw new Error(`the sandbox logged no first output for ${missing} of ${jobIds.length} runs (is it started with LOG_LEVEL=debug?)`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
