#!/usr/bin/env node
// Sets up whatever is missing on this machine, then exits: apt packages
// (as root), npm dependencies, and the guest image (kernel, initramfs and the
// read-only root image, built from Debian packages, cached in ~/.cache/codecell). Safe to run every time:
// each step is skipped when already done. Plain JS so it runs before `npm ci`.
//
//   node scripts/setup.mjs            everything the sandbox needs
//   node scripts/setup.mjs --browser  also Chromium for the browser tests
//   node scripts/setup.mjs --guest    only (re)build the guest image if stale
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
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
  ensureNpm();
  ensureGuest();
  checkKvm();
}
