/**
 * How the runtime table's languages are named by the two compatible APIs
 * (DESIGN.md section 8): Piston v2's language names and Judge0 CE's numeric
 * language ids and display names. One row per runtime id, next to the table
 * it extends; nothing else in CodeCell names a language for Piston or Judge0.
 * @module
 */
import { RUNTIME_IDS } from './runtimes.js';
import type { RuntimeId } from './runtimes.js';

/** One runtime as Piston and Judge0 name it. */
export interface PeerRuntimeNames {
  /** Piston's `language` (piston-client matches it exactly). */
  readonly piston: string;
  /** Judge0 CE's `language_id` for this language (its `db/languages/active.rb`). */
  readonly judge0Id: number;
  /** Judge0's display name; `{version}` is replaced with the image's version. */
  readonly judge0Name: string;
}

/** The names, per runtime id. */
export const PEER_RUNTIME_NAMES: Readonly<Record<RuntimeId, PeerRuntimeNames>> = Object.freeze({
  py: { piston: 'python', judge0Id: 71, judge0Name: 'Python ({version})' },
  js: { piston: 'javascript', judge0Id: 63, judge0Name: 'JavaScript (Node.js {version})' },
  ts: { piston: 'typescript', judge0Id: 74, judge0Name: 'TypeScript ({version})' },
  go: { piston: 'go', judge0Id: 60, judge0Name: 'Go ({version})' },
  c: { piston: 'c', judge0Id: 50, judge0Name: 'C (GCC {version})' },
  cpp: { piston: 'c++', judge0Id: 54, judge0Name: 'C++ (GCC {version})' },
  rs: { piston: 'rust', judge0Id: 73, judge0Name: 'Rust ({version})' },
  java: { piston: 'java', judge0Id: 62, judge0Name: 'Java (OpenJDK {version})' },
  rb: { piston: 'ruby', judge0Id: 72, judge0Name: 'Ruby ({version})' },
  sh: { piston: 'bash', judge0Id: 46, judge0Name: 'Bash ({version})' },
});

const BY_JUDGE0_ID: ReadonlyMap<number, RuntimeId> = new Map(RUNTIME_IDS.map((id) => [PEER_RUNTIME_NAMES[id].judge0Id, id] as const));

/** The runtime id of a Judge0 `language_id`, or undefined. */
export function runtimeIdOfJudge0(languageId: number): RuntimeId | undefined {
  return BY_JUDGE0_ID.get(languageId);
}

/** The runtime id of a Piston language name, or undefined (our ids and aliases are accepted too). */
export function runtimeIdOfPiston(name: string): RuntimeId | undefined {
  return RUNTIME_IDS.find((id) => PEER_RUNTIME_NAMES[id].piston === name);
}

/**
 * A version as SemVer `major.minor.patch` (Piston's selectors need one):
 * the leading numbers of `version`, padded with zeros ("3.11" → "3.11.0",
 * "17.0.9+9" → "17.0.9"); "0.0.0" when it has none.
 */
export function semverOf(version: string): string {
  const m = /^(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(version.trim());
  if (!m) return '0.0.0';
  return [m[1], m[2] ?? '0', m[3] ?? '0'].map((n) => String(Number(n))).join('.');
}
