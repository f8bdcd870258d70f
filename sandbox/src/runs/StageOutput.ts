/**
 * The output side of a run's stages: decodes each stream's bytes as UTF-8
 * (keeping characters split across chunks whole), announces each stage, and
 * keeps the compile stage's text to parse its diagnostics when it ends.
 * @module
 */
import { StringDecoder } from 'node:string_decoder';
import { parseDiagnostics } from '@codecell/protocol';
import type { RunEvent, RuntimeId, StageName } from '@codecell/protocol';

/** Compiler output kept for parsing; the rest still streams to the client. */
export const MAX_COMPILE_OUTPUT_CHARS = 256 * 1024;

export class StageOutput {
  private decoders = { stdout: new StringDecoder('utf8'), stderr: new StringDecoder('utf8') };
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
    const text = this.decoders[type].write(chunk);
    if (!text) return;
    if (this.stage === 'compile' && this.compileText.length < MAX_COMPILE_OUTPUT_CHARS) this.compileText += text;
    this.emit({ type, data: text });
  }

  /** The run is over (normally, by a kill, or with its VM). */
  end(): void {
    this.endStage();
  }

  private endStage(): void {
    for (const type of ['stdout', 'stderr'] as const) {
      const rest = this.decoders[type].end();
      if (rest) {
        if (this.stage === 'compile') this.compileText += rest;
        this.emit({ type, data: rest });
      }
      this.decoders[type] = new StringDecoder('utf8');
    }
    if (this.stage === 'compile') {
      const diagnostics = parseDiagnostics(this.runtime, this.compileText);
      if (diagnostics.length > 0) this.emit({ type: 'diagnostics', diagnostics });
      this.compileText = '';
    }
    this.stage = undefined;
  }
}
