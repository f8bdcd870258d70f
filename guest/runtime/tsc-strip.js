// Build step (guest/SPEC.md 5.4), run in the image's chroot with its own node
// and TypeScript: copies the declaration files every compile reads (the lib
// files and @types/node) without their doc comments, which tsc's parser turns
// into JSDoc nodes and which are more than half of their bytes. Parsing them
// is most of a compile (a cold hello world spends 80% of its time there), and
// types never depend on doc comments in .ts/.d.ts files. Everything else,
// `/// <reference>` directives and line numbers included, stays as it is.
// Usage: node tsc-strip.js <out-lib-dir> <out-types-dir>
'use strict';
const fs = require('fs');
const path = require('path');

const TS = '/usr/share/nodejs/typescript/lib/typescript.js';
const TYPES_DIR = '/usr/share/nodejs/@types';

/** The text ranges of the JSDoc comments the parser attaches to nodes of `sf`. */
function jsDocRanges(ts, sf) {
  const ranges = [];
  const visit = (node) => {
    for (const doc of node.jsDoc ?? []) ranges.push([doc.pos, doc.end]);
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return ranges.sort((a, b) => a[0] - b[0]);
}

/** `text` without its JSDoc comments; each keeps its newlines, so every line keeps its number. */
function strip(ts, fileName, text) {
  const sf = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true);
  let out = '';
  let at = 0;
  for (const [pos, end] of jsDocRanges(ts, sf)) {
    if (pos < at) continue; // nested (a JSDoc inside another's range): already removed
    const comment = text.slice(pos, end);
    if (!comment.startsWith('/**') || !comment.endsWith('*/')) throw new Error(`${fileName}: unexpected JSDoc range at ${pos}`);
    out += text.slice(at, pos) + comment.replace(/[^\n]/g, '');
    at = end;
  }
  return out + text.slice(at);
}

/** Copies the files `keep` accepts from `from` into `to`, declaration files stripped; returns sizes. */
function copyTree(ts, from, to, keep) {
  fs.mkdirSync(to, { recursive: true });
  let before = 0;
  let after = 0;
  for (const e of fs.readdirSync(from, { withFileTypes: true })) {
    const src = path.join(from, e.name);
    const dst = path.join(to, e.name);
    if (e.isDirectory()) {
      const r = copyTree(ts, src, dst, keep);
      before += r.before;
      after += r.after;
    } else if (keep(e.name)) {
      const text = fs.readFileSync(src, 'utf8');
      const out = e.name.endsWith('.d.ts') ? strip(ts, src, text) : text;
      fs.writeFileSync(dst, out);
      before += text.length;
      after += out.length;
    }
  }
  return { before, after };
}

/** Writes the lib files in `libDir` into `outLib` and the @types in `typesDir` into `outTypes`, stripped. */
function stripAll(ts, { libDir, typesDir, outLib, outTypes }) {
  const lib = copyTree(ts, libDir, outLib, (n) => /^lib\..*\.d\.ts$/.test(n));
  const types = copyTree(ts, typesDir, outTypes, (n) => n.endsWith('.d.ts') || n === 'package.json');
  return { lib, types };
}

module.exports = { strip, stripAll };
if (require.main === module) {
  const [outLib, outTypes] = process.argv.slice(2);
  if (!outLib || !outTypes) throw new Error('usage: node tsc-strip.js <out-lib-dir> <out-types-dir>');
  const { lib, types } = stripAll(require(TS), { libDir: path.dirname(TS), typesDir: TYPES_DIR, outLib, outTypes });
  const mb = (n) => (n / 1048576).toFixed(1);
  console.log(`lib ${mb(lib.before)} -> ${mb(lib.after)} MiB, @types ${mb(types.before)} -> ${mb(types.after)} MiB`);
}
