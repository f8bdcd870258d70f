/**
 * Size of the built frontend (`frontend/dist`), raw and gzipped, per file and
 * in total. `--json` prints one JSON object.
 *
 *   node --import tsx frontend/scripts/bundleSize.ts [distDir] [--json]
 * @module
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

export interface FileSize {
  readonly path: string;
  readonly bytes: number;
  readonly gzipBytes: number;
}

export interface BundleSize {
  readonly files: FileSize[];
  readonly totalBytes: number;
  readonly totalGzipBytes: number;
}

/** Every file under `dist` with its size and gzip -9 size. */
export function measureBundle(dist: string): BundleSize {
  const files: FileSize[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const full = join(dir, name);
      if (statSync(full).isDirectory()) walk(full);
      else {
        const data = readFileSync(full);
        files.push({ path: relative(dist, full), bytes: data.length, gzipBytes: gzipSync(data, { level: 9 }).length });
      }
    }
  };
  walk(dist);
  files.sort((a, b) => b.bytes - a.bytes);
  const sum = (k: 'bytes' | 'gzipBytes'): number => files.reduce((n, f) => n + f[k], 0);
  return { files, totalBytes: sum('bytes'), totalGzipBytes: sum('gzipBytes') };
}

const kb = (n: number): string => `${(n / 1024).toFixed(1)} KiB`;

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const dist = resolve(args.find((a) => !a.startsWith('--')) ?? join(dirname(fileURLToPath(import.meta.url)), '..', 'dist'));
  const size = measureBundle(dist);
  if (args.includes('--json')) {
    process.stdout.write(`${JSON.stringify(size, null, 2)}\n`);
  } else {
    for (const f of size.files) process.stdout.write(`${kb(f.bytes).padStart(12)} ${kb(f.gzipBytes).padStart(12)}  ${f.path}\n`);
    process.stdout.write(`${kb(size.totalBytes).padStart(12)} ${kb(size.totalGzipBytes).padStart(12)}  total (raw, gzip -9)\n`);
  }
}
