#!/usr/bin/env node
// Starts sandbox (:5000), gateway (:4000) and frontend (:5173) together, waits
// until each answers, prints the URL to open, and stops them all on Ctrl+C (or
// when one of them dies). `npm start` runs scripts/setup.mjs first.
import { spawn } from 'node:child_process';
import { get } from 'node:http';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseEnv } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const env = process.env;

/**
 * Variables a service's own .env files set. The services read gateway/.env and
 * sandbox/.env themselves (and Vite reads frontend/.env); this script only needs
 * them to know which ports to wait on and which defaults not to impose.
 */
function envFiles(dir, names = ['.env']) {
  const out = {};
  for (const name of names) {
    try {
      Object.assign(out, parseEnv(readFileSync(join(root, dir, name), 'utf8')));
    } catch {
      // no such file
    }
  }
  return out;
}
/** The environment wins over the files (empty counts as unset), as in the services. */
const setting = (file, name) => (env[name] ? env[name] : file[name] ? file[name] : undefined);
const sandboxFile = envFiles('sandbox');
const gatewayFile = envFiles('gateway');
const frontendFile = envFiles('frontend', ['.env', '.env.local', '.env.development', '.env.development.local']);
const sandboxPort = setting(sandboxFile, 'SANDBOX_PORT') ?? '5000';
// With SANDBOX_SOCKET the sandbox listens on a Unix socket instead of TCP.
const sandboxSocket = setting(sandboxFile, 'SANDBOX_SOCKET');
const sandboxAddr = sandboxSocket ? `unix:${sandboxSocket}` : `127.0.0.1:${sandboxPort}`;
const gatewayPort = setting(gatewayFile, 'PORT') ?? '4000';
const frontendPort = '5173';

const services = [
  {
    name: 'sandbox',
    cmd: process.execPath,
    args: ['--import', 'tsx', 'sandbox/src/server/main.ts'],
    cwd: root,
    env: {},
    health: `http://127.0.0.1:${sandboxPort}/healthz`,
    socketPath: sandboxSocket,
    // Up is not enough: wait until the warm pool has a VM, so the first Run is fast.
    ready: (body) => body?.ready === true,
    waiting: 'warming up the VM pool (the first start boots a VM and snapshots it)',
    timeoutMs: 180_000,
  },
  {
    name: 'gateway',
    cmd: process.execPath,
    args: ['--import', 'tsx', 'gateway/src/main.ts'],
    cwd: root,
    // Only defaults: a SANDBOX_ADDR or CORS_ORIGINS in gateway/.env (or the environment) is left alone.
    // The dev frontend below is the only other origin the gateway lets in (cross-site protection, issue 9).
    env: {
      ...(setting(gatewayFile, 'SANDBOX_ADDR') ? {} : { SANDBOX_ADDR: sandboxAddr }),
      ...(setting(gatewayFile, 'CORS_ORIGINS') ? {} : { CORS_ORIGINS: `http://localhost:${frontendPort},http://127.0.0.1:${frontendPort}` }),
    },
    health: `http://127.0.0.1:${gatewayPort}/healthz`,
    timeoutMs: 60_000,
    optional: !existsSync(join(root, 'gateway/src/main.ts')),
  },
  {
    name: 'frontend',
    cmd: process.execPath,
    args: [join(root, 'node_modules/vite/bin/vite.js'), '--host', '127.0.0.1', '--port', frontendPort, '--strictPort'],
    cwd: join(root, 'frontend'),
    env: setting(frontendFile, 'VITE_API_URL') ? {} : { VITE_API_URL: `http://localhost:${gatewayPort}` },
    health: `http://127.0.0.1:${frontendPort}/`,
    timeoutMs: 60_000,
    optional: !existsSync(join(root, 'frontend/index.html')),
  },
].filter((s) => !s.optional);

const children = new Map();
let stopping = false;

function prefix(name, stream, out) {
  let buf = '';
  stream.setEncoding('utf8');
  stream.on('data', (d) => {
    buf += d;
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      out.write(`[${name}] ${buf.slice(0, nl)}\n`);
      buf = buf.slice(nl + 1);
    }
  });
}

/** GET of a service's health URL (over its Unix socket when it has one); never throws on a non-JSON body. */
function getHealth(svc) {
  return new Promise((resolve, reject) => {
    const req = get(svc.health, { timeout: 2000, ...(svc.socketPath ? { socketPath: svc.socketPath } : {}) }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => {
        const ok = (res.statusCode ?? 500) < 300;
        resolve({ ok, json: () => JSON.parse(body) });
      });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

async function waitHealthy(svc) {
  const end = Date.now() + svc.timeoutMs;
  let said = false;
  while (Date.now() < end) {
    if (!children.has(svc.name)) throw new Error(`${svc.name} exited during start-up`);
    try {
      const res = await getHealth(svc);
      if (res.ok && (!svc.ready || svc.ready(res.json()))) return;
      if (res.ok && svc.waiting && !said) {
        said = true;
        process.stderr.write(`[start] ${svc.name}: ${svc.waiting}\n`);
      }
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${svc.name} did not answer ${svc.health} within ${svc.timeoutMs / 1000} s`);
}

function start(svc) {
  const child = spawn(svc.cmd, svc.args, { cwd: svc.cwd, env: { ...env, ...svc.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.set(svc.name, child);
  prefix(svc.name, child.stdout, process.stdout);
  prefix(svc.name, child.stderr, process.stderr);
  child.on('exit', (code, signal) => {
    children.delete(svc.name);
    if (!stopping) {
      process.stderr.write(`[start] ${svc.name} exited (code ${code}, signal ${signal}); stopping the others\n`);
      void stopAll(1);
    }
  });
}

async function stopAll(exitCode) {
  if (stopping) return;
  stopping = true;
  const waits = [...children.values()].map(
    (c) =>
      new Promise((resolve) => {
        const t = setTimeout(() => c.kill('SIGKILL'), 15_000);
        c.once('exit', () => {
          clearTimeout(t);
          resolve();
        });
        c.kill('SIGTERM');
      }),
  );
  await Promise.all(waits);
  process.exit(exitCode);
}

process.on('SIGINT', () => void stopAll(0));
process.on('SIGTERM', () => void stopAll(0));

try {
  for (const svc of services) {
    process.stderr.write(`[start] starting ${svc.name}\n`);
    start(svc);
    await waitHealthy(svc);
    process.stderr.write(`[start] ${svc.name} is up (${svc.socketPath ? `${svc.socketPath} ` : ""}${svc.health})\n`);
  }
  const url = services.some((s) => s.name === 'frontend') ? `http://localhost:${frontendPort}` : sandboxSocket ? `${sandboxSocket} (GET /healthz)` : `http://localhost:${sandboxPort}/healthz`;
  process.stdout.write(`\n  CodeCell Live is running. Open ${url}\n  (sandbox ${sandboxSocket ?? `:${sandboxPort}`}, gateway :${gatewayPort}, frontend :${frontendPort}; Ctrl+C stops everything)\n\n`);
} catch (err) {
  process.stderr.write(`[start] ${err.message}\n`);
  await stopAll(1);
}
