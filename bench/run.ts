/**
 * `npm run bench`: runs the benchmark suites and writes each one's section of
 * BENCHMARKS.md (between `<!-- bench:NAME -->` markers), with the command, the
 * machine and the baseline measured in the same run.
 *
 *   npm run bench                 every suite
 *   npm run bench -- sandbox      only the named suites
 * @module
 */
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { cpus, loadavg, totalmem, release } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sandboxBench } from './sandboxBench.js';
import { gatewayBench } from './gatewayBench.js';
import { gatewayFakeBench } from './gatewayFakeBench.js';
import { loadBench } from './loadBench.js';
import { collabBench } from './collabBench.js';
import { frontendBench } from './frontendBench.js';
import { compatBench } from './compatBench.js';
import { rootfsBench } from './rootfsBench.js';
import { languagesBench } from './languagesBench.js';
import { fleetBench } from './fleetBench.js';

export interface BenchSuite {
  readonly name: string;
  /** Runs the suite; resolves with its markdown section (without the heading marker lines). */
  run(log: (msg: string) => void): Promise<string>;
}

const SUITES: readonly BenchSuite[] = [sandboxBench, languagesBench, rootfsBench, gatewayBench, gatewayFakeBench, frontendBench, collabBench, loadBench, compatBench, fleetBench];
const FILE = join(dirname(fileURLToPath(import.meta.url)), '..', 'BENCHMARKS.md');

function machine(): string {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  return `${cpus().length} × ${cpu}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Linux ${release()}, Node ${process.versions.node}`;
}

function writeSection(name: string, body: string): void {
  const start = `<!-- bench:${name}:start -->`;
  const end = `<!-- bench:${name}:end -->`;
  let doc = existsSync(FILE) ? readFileSync(FILE, 'utf8') : '# Benchmarks\n\nEvery number here was written by `npm run bench` (see `bench/`); rerun it to refresh.\n';
  const block = `${start}\n${body.trim()}\n${end}`;
  const i = doc.indexOf(start);
  const j = doc.indexOf(end);
  doc = i >= 0 && j > i ? doc.slice(0, i) + block + doc.slice(j + end.length) : `${doc.trimEnd()}\n\n${block}\n`;
  writeFileSync(FILE, doc);
}

async function main(): Promise<void> {
  const wanted = new Set(process.argv.slice(2));
  const suites = SUITES.filter((s) => wanted.size === 0 || wanted.has(s.name));
  if (suites.length === 0) throw new Error(`no such suite; known: ${SUITES.map((s) => s.name).join(', ')}`);
  for (const suite of suites) {
    const log = (msg: string): void => void process.stderr.write(`[bench:${suite.name}] ${msg}\n`);
    log('starting');
    // The host's load when the suite began (taken before it runs: its own VMs raise it): on a shared machine other work slows VMs (TCG most of all).
    const load = loadavg()[0]?.toFixed(1) ?? '?';
    const body = await suite.run(log);
    const header = `_Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC by \`npm run bench -- ${suite.name}\` on ${machine()}; load average ${load} when it began._\n\n`;
    writeSection(suite.name, header + body);
    log(`written to ${FILE}`);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
