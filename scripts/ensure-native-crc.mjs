// Makes sure the native CRC-32C addon (sse4_crc32) is built and loads.
// Runs as postinstall and before `npm test`. sse4_crc32 has no prebuilt
// binaries: it is compiled by node-gyp at install time, and that step can be
// skipped (install scripts denied, --ignore-scripts, a copied node_modules)
// or fail. src/checksum/crc32c.ts would then silently run ~10x slower on the
// pure-JS fallback, so we repair it here. Always exits 0: the library still
// works on the fallback and says so; the crc32c test fails loudly instead.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(path.join(root, 'package.json'));

// Probe in a child process: a failed native require is cached in-process, and
// we must re-probe after rebuilding.
function probe() {
  const code =
    "const m = require('sse4_crc32');" +
    "if (m.calculate('123456789') !== 0xe3069283) throw new Error('wrong CRC');" +
    'process.stdout.write(String(m.hardware_support));';
  const r = spawnSync(process.execPath, ['-e', code], { cwd: root, encoding: 'utf8' });
  if (r.status === 0) return { ok: true, hardware: r.stdout.trim() === 'true' };
  const lines = (r.stderr || '').split('\n').filter((l) => /Error|error:/.test(l));
  return { ok: false, error: lines[0] ?? `exit ${r.status}` };
}

function run(cmd, args, cwd = root) {
  console.log(`ensure-native-crc: running ${[cmd, ...args].join(' ')}`);
  const r = spawnSync(cmd, args, { cwd, stdio: 'inherit', env: process.env });
  return r.status === 0;
}

// npm's bundled node-gyp: npm sets npm_config_node_gyp inside scripts; outside
// npm, derive it from the npm CLI location.
function nodeGypBin() {
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  const candidates = [
    process.env.npm_config_node_gyp,
    process.env.npm_execpath &&
      path.join(path.dirname(process.env.npm_execpath), '..', 'node_modules/node-gyp/bin/node-gyp.js'),
    path.join(prefix, 'lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js'),
  ];
  return candidates.find((c) => c && existsSync(c));
}

function rebuild(pkgDir) {
  // `--allow-scripts=...` is rejected (EALLOWSCRIPTS) in a project; the
  // approval lives in package.json "allowScripts".
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  if (run(npm, ['rebuild', 'sse4_crc32', '--foreground-scripts']) && probe().ok) return;
  const gyp = nodeGypBin();
  if (!gyp) return;
  // No internet for header downloads: use the headers installed with node.
  const args = [gyp, 'rebuild'];
  const headers = path.resolve(path.dirname(process.execPath), '..');
  if (!process.env.npm_config_nodedir && existsSync(path.join(headers, 'include/node/node.h'))) {
    args.push(`--nodedir=${headers}`);
  }
  run(process.execPath, args, pkgDir);
}

let pkgDir;
try {
  pkgDir = path.dirname(require.resolve('sse4_crc32/package.json'));
} catch {
  pkgDir = undefined;
}

let state = pkgDir ? probe() : { ok: false, error: 'sse4_crc32 is not installed' };
if (!state.ok && pkgDir) {
  console.log(`ensure-native-crc: sse4_crc32 does not load (${state.error}); rebuilding`);
  rebuild(pkgDir);
  state = probe();
}

if (state.ok && state.hardware) {
  console.log('crc32c: native sse4_crc32 (hardware)');
} else if (state.ok) {
  console.error('WARNING crc32c: native sse4_crc32 loaded but this CPU lacks SSE4.2 (table-driven, slower)');
} else {
  console.error(
    [
      '',
      '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!',
      `WARNING crc32c: native sse4_crc32 unavailable: ${state.error}`,
      'crc32c: using the pure-JS fallback (fast-crc32c/impls/js_crc32c), much slower.',
      'Fix: install a C++ toolchain (g++, make, python3) and run `npm rebuild sse4_crc32`.',
      '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!',
      '',
    ].join('\n'),
  );
}
process.exit(0);
