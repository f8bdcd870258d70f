/**
 * Downloads exact package versions with `apt-get download` into a cache
 * directory shared by every build (no root tree is touched, no network other
 * than the configured Debian mirrors), checks each file against the SHA-256
 * apt's lists give, and unpacks with `dpkg-deb -x`.
 * @module
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { run, progress } from './exec.js';
import { servedVersions } from './resolve.js';
import type { ResolvedPackage } from './resolve.js';

/** The kernel metapackage; its Depends names the versioned image. */
export const KERNEL_METAPACKAGE = 'linux-image-cloud-amd64';

/** Where apt would fetch one package from, and what the file must be. */
export interface DebSource {
  readonly spec: string;
  readonly uri: string;
  readonly file: string;
  readonly size: number;
  readonly sha256: string | undefined;
}

/** `apt-get download --print-uris`: the URI, file name, size and hash of each `name=version`. */
export async function debSources(specs: readonly string[]): Promise<DebSource[]> {
  const out = (await run('apt-get', ['download', '--print-uris', '-q', ...specs], { env: { ...process.env, LC_ALL: 'C' } })).toString('utf8');
  const byFile = new Map<string, Omit<DebSource, 'spec'>>();
  for (const line of out.split('\n')) {
    if (!line.startsWith("'")) continue;
    const [uri, file, size, hash] = line.split(' ');
    byFile.set(file ?? '', {
      uri: (uri ?? '').replace(/^'|'$/g, ''),
      file: file ?? '',
      size: Number(size),
      sha256: hash?.startsWith('SHA256:') ? hash.slice(7) : undefined,
    });
  }
  // apt prints them in its own order: match each spec by its file name, `name_version_arch.deb`.
  const sources: DebSource[] = [];
  for (const spec of specs) {
    const [name, version] = spec.split('=');
    const prefix = `${name ?? ''}_${(version ?? '').replace(/:/g, '%3a')}_`;
    const src = [...byFile.values()].find((s) => s.file.startsWith(prefix));
    if (!src) throw new Error(`apt-get download --print-uris gave no file for ${spec}`);
    sources.push({ spec, ...src });
  }
  return sources;
}

async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** True when `path` is the file `src` describes (size, and SHA-256 when apt knows it). */
async function cached(path: string, src: DebSource): Promise<boolean> {
  if (!existsSync(path)) return false;
  if ((await stat(path)).size !== src.size) return false;
  return src.sha256 === undefined || (await sha256Of(path)) === src.sha256;
}

const BATCH = 40;

/**
 * Makes sure every package is in `debDir` at its exact version, downloading
 * only what is missing or damaged, with progress lines. Returns the .deb paths.
 */
export async function fetchDebs(debDir: string, packages: readonly ResolvedPackage[]): Promise<Map<string, string>> {
  await mkdir(debDir, { recursive: true });
  const sources = await debSources(packages.map((p) => `${p.name}=${p.version}`));
  const missing: DebSource[] = [];
  for (const src of sources) if (!(await cached(join(debDir, src.file), src))) missing.push(src);
  const total = missing.reduce((n, s) => n + s.size, 0);
  progress('packages', `${sources.length} resolved, ${sources.length - missing.length} cached, ${missing.length} to download (${(total / 1048576).toFixed(1)} MiB)`);
  let done = 0;
  let bytes = 0;
  for (let i = 0; i < missing.length; i += BATCH) {
    const batch = missing.slice(i, i + BATCH);
    for (const src of batch) await unlink(join(debDir, src.file)).catch(() => undefined);
    await run('apt-get', ['download', '-q', ...batch.map((s) => s.spec)], { cwd: debDir });
    for (const src of batch) {
      const path = join(debDir, src.file);
      if (!(await cached(path, src))) throw new Error(`${src.file} from ${src.uri} does not match the size or SHA-256 in apt's lists`);
      done++;
      bytes += src.size;
    }
    progress('downloaded', `${done}/${missing.length} packages, ${(bytes / 1048576).toFixed(1)}/${(total / 1048576).toFixed(1)} MiB`);
  }
  return new Map(sources.map((s) => [s.spec.split('=')[0] ?? s.spec, join(debDir, s.file)]));
}

/** The versioned kernel package the metapackage depends on (e.g. linux-image-6.1.0-57-cloud-amd64). */
export async function resolveKernelPackage(debDir: string): Promise<string> {
  // The highest version a source serves (an installed one from elsewhere may not be downloadable).
  const version = (await servedVersions([KERNEL_METAPACKAGE])).get(KERNEL_METAPACKAGE)?.[0];
  if (!version) throw new Error(`no configured apt source serves ${KERNEL_METAPACKAGE}: run apt-get update`);
  const debs = await fetchDebs(debDir, [{ name: KERNEL_METAPACKAGE, version, arch: 'amd64' }]);
  const meta = debs.get(KERNEL_METAPACKAGE) ?? '';
  const depends = (await run('dpkg-deb', ['-f', meta, 'Depends'])).toString('utf8');
  const name = depends.split(/[,|]/)[0]?.trim().split(/\s/)[0];
  if (!name?.startsWith('linux-image-')) throw new Error(`unexpected Depends of ${KERNEL_METAPACKAGE}: ${depends}`);
  return name;
}

/** Unpacks one .deb into `dest` (no maintainer scripts run). */
export async function extractDeb(deb: string, dest: string): Promise<void> {
  await run('dpkg-deb', ['-x', deb, dest]);
}
