/**
 * Judge0's read-only routes (J1 in gateway/SPEC.md): `GET /languages` (and
 * `/languages/all`, `/languages/{id}`) from the sandbox's runtimes with
 * Judge0's ids, `GET /statuses`, `GET /about`, `GET /config_info` with this
 * gateway's limits in Judge0's units.
 * @module
 */
import { JUDGE0_MAX_BATCH, JUDGE0_STATUSES, PEER_RUNTIME_NAMES, RUNTIMES } from '@codecell/protocol';
import type { RuntimeInfo, StageCommand } from '@codecell/protocol';
import type { CompatLimits } from '../compatLimits.js';

/** Judge0's name of a runtime, with the image's version. */
export function judge0LanguageName(r: RuntimeInfo): string {
  return PEER_RUNTIME_NAMES[r.id].judge0Name.replace('{version}', r.version);
}

/** `GET /languages`: `[{id, name}]`, by id as Judge0 orders them. */
export function judge0Languages(runtimes: readonly RuntimeInfo[]): Array<{ id: number; name: string }> {
  return runtimes.map((r) => ({ id: PEER_RUNTIME_NAMES[r.id].judge0Id, name: judge0LanguageName(r) })).sort((a, b) => a.id - b.id);
}

const command = (c: StageCommand | undefined): string | null => (c === undefined ? null : c.argv.join(' '));

/** `GET /languages/{id}`: Judge0's language serializer, with the runtime table's commands. */
export function judge0Language(r: RuntimeInfo): Record<string, unknown> {
  const spec = RUNTIMES[r.id];
  return { id: PEER_RUNTIME_NAMES[r.id].judge0Id, name: judge0LanguageName(r), is_archived: false, source_file: r.entry, compile_cmd: command(spec.compile), run_cmd: command(spec.run) };
}

/** `GET /statuses`. */
export function judge0Statuses(): Array<{ id: number; description: string }> {
  return JUDGE0_STATUSES.map((s) => ({ ...s }));
}

/** `GET /about`. */
export function judge0About(version: string): Record<string, string> {
  return {
    version: `CodeCell ${version} (Judge0 CE 1.13.1 API)`,
    homepage: 'https://github.com/judge0/judge0 (API); programs run in CodeCell microVMs',
    source_code: 'https://github.com/judge0/judge0',
    maintainer: 'the operator of this CodeCell gateway',
  };
}

/** Judge0 settings of {@link judge0ConfigInfo}. */
export interface Judge0Settings {
  /** JUDGE0_MAX_QUEUE_SIZE */
  readonly maxQueueSize: number;
  /** JUDGE0_RETENTION_HOURS */
  readonly retentionHours: number;
}

/** `GET /config_info`: the limits that apply here, in Judge0's names and units (seconds, KB). */
export function judge0ConfigInfo(l: CompatLimits, s: Judge0Settings): Record<string, unknown> {
  const seconds = (ms: number): number => ms / 1000;
  return {
    maintenance_mode: false,
    enable_wait_result: true,
    enable_compiler_options: false,
    allowed_languages_for_compile_options: [],
    enable_command_line_arguments: true,
    enable_submission_delete: false,
    enable_callbacks: false,
    callbacks_max_tries: 0,
    callbacks_timeout: 0,
    enable_additional_files: false,
    max_queue_size: s.maxQueueSize,
    cpu_time_limit: seconds(l.defaultTimeoutMs),
    max_cpu_time_limit: seconds(l.maxTimeoutMs),
    cpu_extra_time: 0,
    max_cpu_extra_time: seconds(l.maxTimeoutMs),
    wall_time_limit: seconds(l.defaultTimeoutMs),
    max_wall_time_limit: seconds(l.maxTimeoutMs),
    memory_limit: l.maxMemoryMb * 1024,
    max_memory_limit: l.maxMemoryMb * 1024,
    number_of_runs: 1,
    max_number_of_runs: 1,
    redirect_stderr_to_stdout: false,
    enable_network: false,
    allow_enable_network: false,
    max_submission_batch_size: JUDGE0_MAX_BATCH,
    submission_cache_duration: 0,
    use_docs_as_homepage: false,
    disable_implicit_base64_encoding: true,
    submission_retention_hours: s.retentionHours,
  };
}
