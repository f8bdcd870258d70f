// CodeCell warm Node.js launcher (guest/SPEC.md 3.6). Started ahead of a run as
// `node <flags> node-warm.js [--prime <one of our scripts>]`, in the run's
// cgroup, as the run's user, with the run's stdio; blocks until the agent
// writes the rest of the stage's argv (`<script> [args...]`, NUL-separated) on
// fd 3, then runs the script as the main module, the way
// `node <flags> <script> [args...]` would. A primed script of ours (tsc-driver.js)
// is loaded and exercised before the wait, and its main() takes the arguments.
'use strict';
const fs = require('fs');
const path = require('path');
const { runMain } = require('module');

const primeAt = process.argv.indexOf('--prime');
const primedPath = primeAt > 0 ? process.argv[primeAt + 1] : undefined;
const primed = primedPath ? require(primedPath) : undefined;
if (primed && typeof primed.prime === 'function') primed.prime();

// Primed: tell the agent (fd 4), then wait for the request (fd 3).
try {
  fs.writeSync(4, 'r');
  fs.closeSync(4);
} catch {
  // started by hand, without the agent's pipes
}
const chunks = [];
const buf = Buffer.alloc(64 * 1024);
for (;;) {
  const n = fs.readSync(3, buf, 0, buf.length, null);
  if (n === 0) break;
  chunks.push(Buffer.from(buf.subarray(0, n)));
}
fs.closeSync(3);
if (chunks.length === 0) process.exit(0); // never used: the agent discarded this process
const [script, ...args] = Buffer.concat(chunks).toString('utf8').split('\0');
process.argv = [process.argv[0], path.resolve(script), ...args];
if (primed && path.resolve(script) === primedPath && typeof primed.main === 'function') primed.main(args);
else runMain(process.argv[1]);
