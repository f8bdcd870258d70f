#!/usr/bin/env node
// Sets up whatever is missing on this machine, then exits: apt packages
// (as root), npm dependencies, and the guest image (kernel, initramfs and the
// read-only root image, built from Debian packages, cached in ~/.cache/codecell). Safe to run every time:
// each step is skipped when already done. Plain JS so it runs before `npm ci`.
//
//   node scripts/setup.mjs            everything the sandbox needs
//   node scripts/setup.mjs --browser  also Chromium for the browser tests
//   node scripts/setup.mjs --servers  also Redis and PostgreSQL (fleet tests, benchmarks;
//                                     installed, never started: tests start their own)
//   node scripts/setup.mjs --guest    only (re)build the guest image if stale
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = new Set(process.argv.slice(2));
const log = (msg) => process.stderr.write(`[setup] ${msg}\n`);

/** Commands the project runs, and the Debian package that provides each. */
const APT_COMMANDS = {
  'qemu-system-x86_64': 'qemu-system-x86',
  lz4: 'lz4',
  readelf: 'binutils',
  setpriv: 'util-linux',
  unshare: 'util-linux',
  // Root image formats (guest/build/rootImage.ts): erofs by default, the others for comparison.
  'mkfs.erofs': 'erofs-utils',
  mksquashfs: 'squashfs-tools',
  'mkfs.ext4': 'e2fsprogs',
  'dpkg-deb': 'dpkg',
  'apt-get': 'apt',
};
const BROWSER_COMMANDS = { chromium: 'chromium' };
/** Servers the fleet tests start for themselves (never as system services). */
const SERVER_PACKAGES = [
  { pkg: 'redis-server', present: () => existsSync('/usr/bin/redis-server') },
  {
    pkg: 'postgresql',
    present: () => existsSync('/usr/lib/postgresql') && readdirSync('/usr/lib/postgresql').some((v) => existsSync(join('/usr/lib/postgresql', v, 'bin', 'initdb'))),
  },
];

function has(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

function run(cmd, argv, opts = {}) {
  const r = spawnSync(cmd, argv, { stdio: 'inherit', cwd: root, ...opts });
  if (r.status !== 0) {
    log(`FAILED: ${cmd} ${argv.join(' ')} (exit ${r.status ?? r.signal})`);
    process.exit(r.status || 1);
  }
}

function ensureNode() {
  const [major, minor] = process.versions.node.split('.').map(Number);
  if (major < 20 || (major === 20 && minor < 19)) {
    log(`Node.js ${process.versions.node} is too old: CodeCell needs Node.js 20.19 or newer`);
    process.exit(1);
  }
}

function ensureApt(commands) {
  const missing = [...new Set(Object.entries(commands).filter(([cmd]) => !has(cmd)).map(([, pkg]) => pkg))];
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) {
    log(`missing Debian packages: ${missing.join(' ')}`);
    log(`install them with: sudo apt-get install -y ${missing.join(' ')}`);
    process.exit(1);
  }
  log(`installing Debian packages: ${missing.join(' ')} (apt-get)`);
  run('apt-get', ['update', '-q']);
  run('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...missing], {
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
}

/**
 * Installs Redis and PostgreSQL without starting them: a policy-rc.d that
 * refuses every service start is in place while apt runs (what Debian's
 * container images do), so no system service is left running; the tests
 * start their own servers in temporary directories.
 */
function ensureServers() {
  const missing = SERVER_PACKAGES.filter((s) => !s.present()).map((s) => s.pkg);
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) {
    log(`missing Debian packages for the fleet tests: ${missing.join(' ')}`);
    log(`install them with: sudo apt-get install -y ${missing.join(' ')} (the tests start their own servers; the system services can stay disabled)`);
    process.exit(1);
  }
  const policy = '/usr/sbin/policy-rc.d';
  const ours = !existsSync(policy);
  if (ours) writeFileSync(policy, '#!/bin/sh\n# codecell setup: no service starts while packages install\nexit 101\n', { mode: 0o755 });
  try {
    log(`installing Debian packages: ${missing.join(' ')} (apt-get; their services are not started)`);
    run('apt-get', ['update', '-q']);
    run('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...missing], {
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  } finally {
    if (ours) rmSync(policy, { force: true });
  }
}

function ensureNpm() {
  const marker = join(root, 'node_modules', '.package-lock.json');
  const lock = join(root, 'package-lock.json');
  const fresh = existsSync(marker) && statSync(marker).mtimeMs >= statSync(lock).mtimeMs;
  if (fresh) return;
  log('installing npm dependencies (npm ci)');
  run('npm', ['ci', '--no-audit', '--no-fund']);
}

function ensureGuest() {
  run(process.execPath, ['--import', 'tsx', join(root, 'guest/build/main.ts')]);
}

function checkKvm() {
  if (!existsSync('/dev/kvm')) {
    log('note: /dev/kvm is missing, so VMs run under TCG emulation (still isolated, slower). See README "Troubleshooting".');
  }
}

ensureNode();
if (args.has('--guest')) {
  ensureGuest();
} else {
  ensureApt(args.has('--browser') ? { ...APT_COMMANDS, ...BROWSER_COMMANDS } : APT_COMMANDS);
  if (args.has('--servers')) ensureServers();
  ensureNpm();
  ensureGuest();
  checkKvm();
}
