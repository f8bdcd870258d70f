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
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
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
/** What only the tests need: the servers the fleet tests start for themselves (never as system services), and tools. */
const SERVER_PACKAGES = [
  { pkg: 'redis-server', present: () => existsSync('/usr/bin/redis-server') },
  // The TLS test makes a self-signed certificate with it (Debian has it almost always; a minimal image may not).
  { pkg: 'openssl', present: () => has('openssl') },
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

/** `$CODECELL_CACHE_DIR`, else `~/.cache/codecell` (as guest/build/image.ts). */
function cacheDir() {
  return process.env.CODECELL_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'codecell');
}

/**
 * Native addons npm would compile on every clean install (no prebuilt binary
 * is reachable from here: they live on GitHub). prebuild-install, which runs
 * their install script, first looks for `<name>-v<version>-node-v<abi>-<platform>-<arch>.tar.gz`
 * in the directory named by `npm_config_<name>_local_prebuilds`; we keep the
 * binary built the first time there, so a clean clone skips a ~90 s compile.
 */
const NATIVE_ADDONS = [{ name: 'better-sqlite3', binary: 'build/Release/better_sqlite3.node' }];

function prebuildEnv(dir) {
  return Object.fromEntries(NATIVE_ADDONS.map((a) => [`npm_config_${a.name.replace(/[^a-zA-Z0-9]/g, '_')}_local_prebuilds`, dir]));
}

/** Keeps each addon's freshly built binary as a local prebuild (best effort: a failure only costs the next install a compile). */
function keepPrebuilds(dir) {
  for (const addon of NATIVE_ADDONS) {
    const pkgDir = join(root, 'node_modules', addon.name);
    if (!existsSync(join(pkgDir, addon.binary))) continue;
    const { version } = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
    const tarball = join(dir, `${addon.name}-v${version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`);
    if (existsSync(tarball)) continue;
    mkdirSync(dir, { recursive: true });
    const tmp = `${tarball}.${process.pid}.tmp`;
    const r = spawnSync('tar', ['-czf', tmp, '-C', pkgDir, addon.binary], { stdio: 'ignore' });
    if (r.status === 0) renameSync(tmp, tarball);
    else rmSync(tmp, { force: true });
  }
}

function ensureNpm() {
  const marker = join(root, 'node_modules', '.package-lock.json');
  const lock = join(root, 'package-lock.json');
  const fresh = existsSync(marker) && statSync(marker).mtimeMs >= statSync(lock).mtimeMs;
  if (fresh) return;
  const prebuilds = join(cacheDir(), 'prebuilds');
  log(`installing npm dependencies (npm ci; native addons built once, kept in ${prebuilds})`);
  run('npm', ['ci', '--no-audit', '--no-fund'], { env: { ...process.env, ...prebuildEnv(prebuilds) } });
  keepPrebuilds(prebuilds);
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
