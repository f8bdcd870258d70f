/**
 * Dependency resolution with apt, against a dpkg status of our own instead of
 * the host's: what is installed on the build machine never matters, and
 * dropped packages (see packages.ts) are marked installed so apt does not pull
 * them in. Every version chosen must be one a configured source serves: a
 * package installed on the host from a source apt has no lists for (nodejs 20
 * here) is not in our status, and a version no source can serve is replaced by
 * the highest one a source can.
 * @module
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { progress, run } from './exec.js';

/** One package at the exact version apt chose. */
export interface ResolvedPackage {
  readonly name: string;
  readonly version: string;
  readonly arch: string;
}

/**
 * `apt-cache madison`: for each name, every version some configured source
 * serves (a version known only from a dpkg status has no source), highest first.
 */
export async function servedVersions(names: readonly string[]): Promise<Map<string, string[]>> {
  const out = (await run('apt-cache', ['madison', ...names], { ignoreExitCode: true })).toString('utf8');
  const served = new Map<string, string[]>(names.map((n) => [n, []]));
  for (const line of out.split('\n')) {
    const [pkg, version, source] = line.split('|').map((s) => s.trim());
    const list = pkg ? served.get(pkg) : undefined;
    if (list && version && source?.includes('Packages') && !list.includes(version)) list.push(version);
  }
  return served; // madison lists in apt's version order, highest first
}

function statusEntry(name: string, version: string): string {
  return `Package: ${name}\nStatus: install ok installed\nPriority: optional\nVersion: ${version}\nArchitecture: all\nMaintainer: codecell\nDescription: dropped from the CodeCell guest image\n\n`;
}

/** Parses the `Inst name (version source [arch])` lines of `apt-get install -s`. */
export function parseSimulation(output: string): ResolvedPackage[] {
  const out: ResolvedPackage[] = [];
  for (const m of output.matchAll(/^Inst (\S+) (?:\[[^\]]*\] )?\((\S+) [^[]*\[(\w+)\]\)/gm)) {
    out.push({ name: m[1] ?? '', version: m[2] ?? '', arch: m[3] ?? '' });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/** A version apt chose that no configured source serves, and the one used instead (nodejs here: 20.x installed from elsewhere, Debian's 18.x used). */
export interface SubstitutedVersion {
  readonly name: string;
  /** apt's candidate, which cannot be downloaded. */
  readonly candidate: string;
  /** The highest version a configured source serves. */
  readonly used: string;
}

/** What {@link resolvePackages} settled on. */
export interface Resolution {
  readonly packages: ResolvedPackage[];
  readonly substituted: SubstitutedVersion[];
}

export interface ResolveOptions {
  /** Names, or `name=version` to force a version. */
  readonly roots: readonly string[];
  readonly drop: readonly string[];
}

/**
 * Resolves `roots` and their dependencies (no recommends) to exact versions.
 * Updates apt's lists once when they are empty or apt cannot find a package.
 */
export async function resolvePackages(o: ResolveOptions): Promise<Resolution> {
  const dir = await mkdtemp(join(tmpdir(), 'codecell-apt-'));
  try {
    const statusFile = join(dir, 'status');
    const entries: string[] = [];
    const dropServed = await servedVersions(o.drop);
    for (const name of o.drop) {
      const top = dropServed.get(name)?.[0];
      if (top) entries.push(statusEntry(name, top));
    }
    await writeFile(statusFile, entries.join(''));
    const nameOf = (spec: string): string => spec.split('=')[0] ?? spec;
    // name -> `name=version` for packages whose version we choose instead of apt.
    const forced = new Map<string, string>(o.roots.filter((r) => r.includes('=')).map((r) => [nameOf(r), r]));
    const substituted = new Map<string, SubstitutedVersion>();
    for (let round = 0; round < 5; round++) {
      const args = [...o.roots.filter((r) => !forced.has(nameOf(r))), ...forced.values()];
      const resolved = await simulate(statusFile, args);
      let changed = false;
      const servedAll = await servedVersions(resolved.map((p) => p.name));
      for (const p of resolved) {
        const served = servedAll.get(p.name) ?? [];
        if (served.includes(p.version)) continue;
        const best = served[0];
        if (!best) throw new Error(`apt chose ${p.name} ${p.version}, but no configured source serves any version of ${p.name}`);
        progress('version not downloadable', `${p.name} ${p.version}: no source serves it; using ${best}, the highest a source serves`);
        forced.set(p.name, `${p.name}=${best}`);
        substituted.set(p.name, { name: p.name, candidate: substituted.get(p.name)?.candidate ?? p.version, used: best });
        changed = true;
      }
      if (!changed) return { packages: resolved, substituted: [...substituted.values()] };
    }
    throw new Error('package resolution did not settle after 5 rounds');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function simulate(statusFile: string, args: readonly string[]): Promise<ResolvedPackage[]> {
  const cmd = [
    'install',
    '-s',
    '-q',
    '--no-install-recommends',
    '-o',
    `Dir::State::status=${statusFile}`,
    '-o',
    'Debug::NoLocking=1',
    '-o',
    'APT::Get::Show-Versions=1',
    ...args,
  ];
  let out: Buffer;
  try {
    out = await run('apt-get', cmd, { env: { ...process.env, LC_ALL: 'C' } });
  } catch (err) {
    // A fresh machine has no package lists yet (or stale ones): update once and try again.
    progress('apt-get update', String(err instanceof Error ? err.message.split('\n').slice(-2).join(' ') : err));
    await run('apt-get', ['update', '-q']);
    out = await run('apt-get', cmd, { env: { ...process.env, LC_ALL: 'C' } });
  }
  const resolved = parseSimulation(out.toString('utf8'));
  if (resolved.length === 0) throw new Error(`apt resolved nothing for: ${args.join(' ')}`);
  return resolved;
}
