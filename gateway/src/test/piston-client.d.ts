/**
 * Types for the npm `piston-client` 1.0.2 (it ships none), as far as the
 * tests use it: `runtimes()` and `execute(language, code, config)`, which
 * resolve with Piston's JSON answer, or `{success: false, error}` when the
 * request itself failed.
 */
declare module 'piston-client' {
  interface PistonClientConfig {
    readonly language?: string;
    readonly version?: string;
    readonly files?: ReadonlyArray<{ name?: string; content: string; encoding?: string }>;
    readonly stdin?: string;
    readonly args?: readonly string[];
    readonly compileTimeout?: number;
    readonly runTimeout?: number;
    readonly compileMemoryLimit?: number;
    readonly runMemoryLimit?: number;
  }
  interface PistonClient {
    runtimes(): Promise<unknown>;
    execute(language: string, code: string, config?: PistonClientConfig): Promise<unknown>;
  }
  export function piston(opts?: { server?: string }): PistonClient;
  export default piston;
}
