/**
 * The output side of a run's stages: decodes each stream's bytes as UTF-8
 * (keeping characters split across chunks whole; chunks that are not UTF-8
 * also carry their exact bytes, see {@link OutputDecoder}), announces each stage, and
 * keeps the compile stage's text to parse its diagnostics when it ends.
 * @module
 */
import { parseDiagnostics } from '@codecell/protocol';
import type { RunEvent, RuntimeId, StageName } from '@codecell/protocol';
import { OutputDecoder } from './OutputDecoder.js';

/** Compiler output kept for parsing; the rest still streams to the client. */
export const MAX_COMPILE_OUTPUT_CHARS = 256 * 1024;

export class StageOutput {
  private decoders = { stdout: new OutputDecoder(), stderr: new OutputDecoder() };
  private stage: StageName | undefined;
  private compileText = '';

  constructor(
    private readonly runtime: RuntimeId,
    private readonly emit: (e: RunEvent) => void,
  ) {}

  /** A stage begins: what came before belongs to the previous one. */
  startStage(name: StageName, how: { readonly warm: boolean; readonly cached: boolean }): void {
    this.endStage();
    this.stage = name;
    this.emit({ type: 'stage', name, warm: how.warm, ...(how.cached ? { cached: true } : {}) });
  }

  write(type: 'stdout' | 'stderr', chunk: Buffer): void {
    const decoded = this.decoders[type].write(chunk);
    if (!decoded) return;
    if (this.stage === 'compile' && this.compileText.length < MAX_COMPILE_OUTPUT_CHARS) this.compileText += decoded.data;
    this.emit({ type, ...decoded });
  }

  /** The run is over (normally, by a kill, or with its VM). */
  end(): void {
    this.endStage();
  }

  private endStage(): void {
    for (const type of ['stdout', 'stderr'] as const) {
      const rest = this.decoders[type].end();
      if (rest) {
        if (this.stage === 'compile') this.compileText += rest.data;
        this.emit({ type, ...rest });
      }
    }
    if (this.stage === 'compile') {
      const diagnostics = parseDiagnostics(this.runtime, this.compileText);
      if (diagnostics.length > 0) this.emit({ type: 'diagnostics', diagnostics });
      this.compileText = '';
    }
    this.stage = undefined;
  }
}
