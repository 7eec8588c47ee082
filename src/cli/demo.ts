/**
 * esebackup demo [dir] [--size MiB]: the main job (`npm start`).
 *
 * Creates an instance in a fresh directory, bulk-loads --size MiB of rows
 * (lazy commits), measures durable commits, takes a full backup while two
 * writers keep committing, an incremental while they still run and another
 * after they stop, restores the set into a second directory, verifies the
 * set, compares the restored databases with the instance row by row (and
 * every loaded row with what was written), walks the restored trees, and
 * prints what it measured. Exit code 1 when anything differs.
 *
 * Layout: <dir>/instance, <dir>/backup, <dir>/restored. Without [dir] it
 * works in a temporary directory and removes it; with [dir] (which must be
 * empty or absent) it leaves everything there for `esebackup info` & co.
 */
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Command } from 'commander';
import { JetError } from '../errors.js';
import { crc32cImplementation } from '../checksum/crc32c.js';
import { Instance } from '../engine/instance.js';
import type { Database } from '../engine/database.js';
import { JET_bitBackupIncremental, type BackupResult } from '../backup/options.js';
import { restore } from '../restore/restore.js';
import { verify } from '../restore/verify.js';
import { intIn, type CliContext } from './args.js';
import { fmtBytes, fmtMs, fmtRate, gbPerSec, type Output } from './output.js';

export const DEFAULT_SIZE_MIB = 256;
const DURABLE = 500;
const ROWS_PER_TX = 1000;

/** A fixed pseudo-random padding alphabet: values are slices of it. */
const PAD = (() => {
  let x = 0x9e3779b9;
  let s = '';
  for (let i = 0; i < 4096; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    s += 'abcdefghijklmnopqrstuvwxyz0123456789'[x % 36];
  }
  return s;
})();

const keyOf = (i: number) => `user:${i.toString().padStart(8, '0')}`;
/** Row i's value: 300..1899 bytes (about 1.1 KiB on average), a pure function of (i, round). */
const valueOf = (i: number, round: number) => {
  const len = 300 + ((i * 7919) % 1600);
  return `{"id":${i},"round":${round},"pad":"${PAD.slice(i % 1024, i % 1024 + len)}"}`;
};
const roundOf = (i: number) => (i % 7 === 0 && i / 7 < DURABLE ? 1 : 0);

interface Figures {
  [k: string]: unknown;
}

async function emptyOrAbsent(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).length === 0;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw e;
  }
}

/** Compare every table of `a` and `b` row by row; checks each `users` row against what was written. */
async function compare(a: Database, b: Database): Promise<{ rows: number; differences: string[]; usersRows: number }> {
  const differences: string[] = [];
  const [ta, tb] = [await a.tables(), await b.tables()];
  if (ta.join('\n') !== tb.join('\n')) differences.push(`tables differ: [${ta.join(', ')}] vs [${tb.join(', ')}]`);
  let rows = 0;
  let usersRows = 0;
  for (const t of ta) {
    const [ia, ib] = [a.range(t), b.range(t)];
    for (;;) {
      const [x, y] = await Promise.all([ia.next(), ib.next()]);
      if (x.done && y.done) break;
      if (x.done || y.done || !x.value.key.equals(y.value.key) || !x.value.value.equals(y.value.value)) {
        if (differences.length < 5) differences.push(`${t}: ${x.done ? '(end)' : x.value.key.toString()} vs ${y.done ? '(end)' : y.value.key.toString()}`);
        if (x.done || y.done) break;
      }
      rows++;
      if (t === 'users') {
        const i = usersRows++;
        if (x.value.key.toString() !== keyOf(i) || x.value.value.toString() !== valueOf(i, roundOf(i))) {
          if (differences.length < 5) differences.push(`users row ${i} is not what was written`);
        }
      }
    }
  }
  return { rows, differences, usersRows };
}

export async function runDemo(ctx: CliContext, out: Output, given: string | undefined, sizeMiB: number): Promise<number> {
  const t00 = performance.now();
  if (given !== undefined && !(await emptyOrAbsent(path.resolve(given)))) {
    throw new JetError('JET_errInvalidPath', `demo directory ${path.resolve(given)} is not empty; give an empty or new directory (or none, for a temporary one)`);
  }
  const root = given !== undefined ? path.resolve(given) : await mkdtemp(path.join(tmpdir(), 'esebackup-demo-'));
  const [instDir, backupDir, restoredDir] = ['instance', 'backup', 'restored'].map((n) => path.join(root, n)) as [string, string, string];
  const fig: Figures = { crc32c: crc32cImplementation(), node: process.version, dir: root, sizeMiB };
  const step = (name: string, text: string, figures: Record<string, unknown>) => {
    fig[name] = figures;
    out.event('step', { step: name, ...figures });
    out.line(text);
  };
  out.line(`crc32c implementation: ${fig.crc32c}; node ${process.version}`);
  out.line(`demo directory:        ${root}`);
  let ok = false;
  const inst = await Instance.open(instDir, { createPathIfNotExist: true });
  try {
    const db = await inst.openDatabase('demo.edb', { create: true });
    // ---- load
    const target = sizeMiB * 2 ** 20;
    let t = performance.now();
    let rows = 0;
    let bytes = 0;
    while (bytes < target) {
      ctx.signal.throwIfAborted();
      const from = rows;
      await db.transaction(async (tx) => {
        for (let i = from; i < from + ROWS_PER_TX; i++) {
          const [k, v] = [keyOf(i), valueOf(i, 0)];
          await tx.put('users', k, v);
          bytes += k.length + v.length;
        }
      }, { durable: false });
      rows += ROWS_PER_TX;
    }
    let ms = performance.now() - t;
    step('load', `bulk load (lazy):      ${rows} rows, ${fmtBytes(bytes)} of keys and values in ${fmtMs(ms)} = ${(bytes / 2 ** 20 / (ms / 1000)).toFixed(1)} MiB/s`,
      { rows, bytes, ms });
    // ---- durable commits
    t = performance.now();
    for (let i = 0; i < DURABLE; i++) await db.put('users', keyOf(i * 7), valueOf(i * 7, 1));
    ms = performance.now() - t;
    step('durable', `durable puts:          ${DURABLE} in ${fmtMs(ms)} = ${(DURABLE / (ms / 1000)).toFixed(0)} commits/s`, { commits: DURABLE, ms });
    // ---- full backup under writers, then incrementals
    await mkdir(backupDir, { recursive: true });
    let stop = false;
    let commits = 0;
    const writer = async (w: number) => {
      for (let i = 0; !stop; i++, commits++) await db.put('churn', `w${w}:${i % 5000}`, `${i}:${'y'.repeat(i % 300)}`, { durable: i % 10 === 0 });
    };
    const writers = [writer(0), writer(1)];
    let full: BackupResult;
    let inc1: BackupResult;
    try {
      full = await inst.backup(backupDir, 0, undefined, { signal: ctx.signal });
      const pageBytes = full.databases.reduce((n, d) => n + d.bytes, 0);
      step('full', `full backup (online):  ${fmtBytes(pageBytes)} of pages + ${full.logs.length} log generations in ${fmtMs(full.durationMs)} = ` +
        `${fmtRate(full.bytes, full.durationMs)}; ${full.pagesVerified} pages verified, ${full.pagesReread} re-read; ${commits} commits by 2 writers meanwhile`,
      { bytes: full.bytes, pageBytes, ms: full.durationMs, gbPerSec: gbPerSec(full.bytes, full.durationMs), pagesVerified: full.pagesVerified, pagesReread: full.pagesReread, commitsDuring: commits });
      const before = commits;
      inc1 = await inst.backup(backupDir, JET_bitBackupIncremental, undefined, { signal: ctx.signal });
      step('incremental1', `incremental (online):  generations ${inc1.generations?.low}..${inc1.generations?.high} in ${fmtMs(inc1.durationMs)}; ` +
        `${commits - before} commits meanwhile; ${inc1.truncated.length} generations truncated from the instance`,
      { generations: inc1.generations, ms: inc1.durationMs, truncated: inc1.truncated.length });
    } finally {
      stop = true;
      await Promise.all(writers);
    }
    const inc2 = await inst.backup(backupDir, JET_bitBackupIncremental, undefined, { signal: ctx.signal });
    step('incremental2', `incremental (idle):    generations ${inc2.generations?.low}..${inc2.generations?.high} in ${fmtMs(inc2.durationMs)}; ${commits} writer commits in all`,
      { generations: inc2.generations, ms: inc2.durationMs, writerCommits: commits });
    // ---- verify the set, restore it, compare
    const v = await verify(backupDir, { signal: ctx.signal });
    step('verify', `verify backup set:     ${v.ok ? 'ok' : `${v.problems.length} PROBLEM(S)`}, ${fmtBytes(v.bytes)} in ${fmtMs(v.durationMs)} = ${fmtRate(v.bytes, v.durationMs)}`,
      { ok: v.ok, problems: v.problems.length, bytes: v.bytes, ms: v.durationMs });
    const r = await restore(backupDir, restoredDir, { createPathIfNotExist: true, signal: ctx.signal });
    step('restore', `restore:               ${r.generations.high - r.generations.low + 1} generations replayed (${r.recovery?.transactionsRedone ?? 0} transactions) ` +
      `in ${fmtMs(r.durationMs)}`, { generations: r.generations, transactionsRedone: r.recovery?.transactionsRedone ?? 0, ms: r.durationMs });
    t = performance.now();
    const copy = await Instance.open(restoredDir, r.params);
    try {
      const cdb = await copy.openDatabase('demo.edb');
      const c = await compare(db, cdb);
      const check = await cdb.checkTables();
      ms = performance.now() - t;
      const same = c.differences.length === 0 && c.usersRows === rows && check.problems.length === 0;
      step('compare', `compare:               ${c.rows} rows, ${same ? 'identical to the instance' : 'DIFFERENT'}; ${c.usersRows} loaded rows as written; ` +
        `restored trees ${check.problems.length === 0 ? 'sound' : 'BROKEN'}; in ${fmtMs(ms)}`,
      { rows: c.rows, identical: c.differences.length === 0, usersRows: c.usersRows, treeProblems: check.problems.length, ms, differences: c.differences });
      ok = same && v.ok;
      if (!ok) {
        const why = [...c.differences, ...check.problems.slice(0, 3), ...(c.usersRows !== rows ? [`${c.usersRows} of ${rows} loaded rows`] : []),
          ...(v.ok ? [] : [`verify: ${v.problems[0]?.what}`])];
        process.stderr.write(`esebackup: JET_errDatabaseCorrupted (-1206): demo: the restored copy does not match the instance: ${why.join('; ')}\n`);
      }
    } finally {
      await copy.close();
    }
  } finally {
    await inst.close();
    if (given === undefined) await rm(root, { recursive: true, force: true });
  }
  const totalMs = performance.now() - t00;
  fig.totalMs = totalMs;
  out.result('demo', ok, { figures: fig });
  out.line(`demo: ${ok ? 'ok' : 'FAILED'} in ${fmtMs(totalMs)}${given !== undefined ? `; files kept in ${root}` : ''}`);
  return ok ? 0 : 1;
}

export function registerDemoCommand(program: Command, ctx: CliContext): void {
  program.command('demo')
    .description('the main job: load an instance, back it up under writers (full + incrementals), restore, verify, compare; print the figures')
    .argument('[dir]', 'an empty or new directory to work in, kept afterwards (default: a temporary one, removed)')
    .option('--size <MiB>', `MiB of rows to load (default ${DEFAULT_SIZE_MIB})`, intIn('--size', 1, 1 << 20), DEFAULT_SIZE_MIB)
    .option('--json', 'print JSON lines (one per step, then the result) instead of text')
    .action((dir: string | undefined, f: { size: number; json?: boolean }) => ctx.run('demo', f, (out) => runDemo(ctx, out, dir, f.size)));
}
