#!/usr/bin/env node
// Runs npm scripts side by side and fails if any fails: `npm test` type-checks
// and lints at once (each is one single-threaded process, and CI has two cores).
// Each script's output is printed whole when it ends, so the two never interleave.
//
//   node scripts/parallel.mjs typecheck lint
import { spawn } from 'node:child_process';

const names = process.argv.slice(2);
if (names.length === 0) {
  process.stderr.write('usage: node scripts/parallel.mjs <npm script> [<npm script> ...]\n');
  process.exit(2);
}

const children = new Set();
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    for (const child of children) child.kill(signal);
    process.exit(130);
  });
}

function runScript(name) {
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn('npm', ['run', '--silent', name], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    const out = [];
    child.stdout.on('data', (b) => out.push(b));
    child.stderr.on('data', (b) => out.push(b));
    const finish = (code, detail) => {
      children.delete(child);
      const secs = ((performance.now() - started) / 1000).toFixed(1);
      process.stdout.write(`\n> ${name}: ${code === 0 ? 'passed' : `FAILED (${detail})`} in ${secs} s\n`);
      process.stdout.write(Buffer.concat(out));
      resolve(code === 0);
    };
    child.on('error', (err) => finish(1, err.message));
    child.on('close', (code, signal) => finish(code ?? 1, signal ?? `exit ${code}`));
  });
}

const results = await Promise.all(names.map(runScript));
process.exit(results.every(Boolean) ? 0 : 1);
