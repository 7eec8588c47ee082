/**
 * Helpers for the restore / verify tests: a deterministic workload whose
 * state after transactions 1..P can be rebuilt for any P (so a restored
 * database can be compared exactly), writers that commit while backups run,
 * checking a restored directory, and editing copies of real backup sets.
 *
 * Transaction i (numbered inside the writer slot, so in commit order):
 *   - puts t/k<i> (only i writes it), overwrites one preloaded row t/p<j>;
 *   - every 5th deletes t/k<i-5>; every 40th rewrites a long value big/lv;
 *   - puts s/last = i, last: a restored database says which prefix it holds.
 */
import { expect } from 'chai';
import { cp, mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BackupPool } from '../../src/backup/pool.js';
import { crc32c } from '../../src/checksum/crc32c.js';
import type { Database } from '../../src/engine/database.js';
import { Instance } from '../../src/engine/instance.js';
import type { InstanceParams } from '../../src/engine/params.js';
import { MANIFEST_NAME, decodeManifest, encodeManifest, type Manifest } from '../../src/format/backup-manifest.js';
import { LOG_HEADER_BLOCK } from '../../src/format/log-header.js';
import { pageOffset } from '../../src/format/page.js';
import { restore, type RestoreOptions, type RestoreResult } from '../../src/restore/restore.js';
import { patterned } from '../helpers/bytes.js';
import { expectJetError } from '../helpers/engine.js';
import { removeTmpDirs, tmpDir } from '../helpers/tmp-dir.js';
import { Model, expectDatabaseEquals } from '../tables/table-helpers.js';
import { SMALL, closeOpened, track } from '../backup/failure-helpers.js';
import { writerLoops, type Writers } from '../fixtures/backup-model.js';
import type { JetError, JetErrName } from '../../src/errors.js';

export { SMALL };

const pad = (n: number) => String(n).padStart(6, '0');

function u32(i: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(i, 0);
  return b;
}

type Op = { put: true; table: string; key: string; value: Buffer } | { put: false; table: string; key: string };

function preloadOps(rows: number): Op[] {
  return Array.from({ length: rows }, (_, j) => ({ put: true as const, table: 't', key: `p${pad(j)}`, value: patterned(120 + (j % 90), 1 + j) }));
}

function txOps(i: number, rows: number): Op[] {
  const ops: Op[] = [{ put: true, table: 't', key: `k${pad(i)}`, value: patterned(30 + ((i * 37) % 300), i) }];
  if (rows > 0) ops.push({ put: true, table: 't', key: `p${pad((i * 7919) % rows)}`, value: patterned(120 + ((i * 7919) % rows % 90), 1_000_000 + i) });
  if (i % 5 === 0 && i > 5) ops.push({ put: false, table: 't', key: `k${pad(i - 5)}` });
  if (i % 40 === 0) ops.push({ put: true, table: 'big', key: 'lv', value: patterned(5000 + (i % 700), 5_000_000 + i) });
  ops.push({ put: true, table: 's', key: 'last', value: u32(i) });
  return ops;
}

/** The database after the preload of `rows` rows and transactions 1..p. */
export function modelAt(p: number, rows: number): Model {
  const m = new Model();
  for (const o of [...preloadOps(rows), ...Array.from({ length: p }, (_, k) => txOps(k + 1, rows)).flat()]) {
    if (o.put) m.put(o.table, o.key, o.value);
    else m.delete(o.table, o.key);
  }
  return m;
}

/** Transactions numbered so far, and the highest acknowledged. */
export class Counter {
  begun = 0;
  acked = 0;
  constructor(readonly rows: number) {}
}

export async function preload(db: Database, rows: number): Promise<Counter> {
  const ops = preloadOps(rows);
  for (let at = 0; at < ops.length; at += 300) {
    await db.transaction(async (t) => { for (const o of ops.slice(at, at + 300)) if (o.put) await t.put(o.table, o.key, o.value); }, { durable: false });
  }
  return new Counter(rows);
}

export async function commitNext(db: Database, c: Counter, durable: boolean): Promise<number> {
  let i = 0;
  await db.transaction(async (t) => {
    i = ++c.begun; // inside the writer slot: numbers follow commit order
    for (const o of txOps(i, c.rows)) {
      if (o.put) await t.put(o.table, o.key, o.value);
      else await t.delete(o.table, o.key);
    }
  }, { durable });
  c.acked = Math.max(c.acked, i);
  return i;
}

/** `n` transactions one after the other, one in three durable. */
export async function commitMany(db: Database, c: Counter, n: number): Promise<void> {
  for (let k = 0; k < n; k++) await commitNext(db, c, k % 3 === 0);
}

export type { Writers };

/** `n` writers committing until stopped; stop() rejects with the first writer error. */
export function startWriters(db: Database, c: Counter, n: number, pauseMs = 1): Writers {
  return writerLoops(n, pauseMs, (w, j) => commitNext(db, c, (w + j) % 3 === 0));
}

export async function waitFor(cond: () => boolean, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(2);
  }
}

/**
 * Called in a describe: a BackupPool made before its tests (handed to `set`)
 * and closed after them; after each test, the instances opened are closed and
 * the temp dirs removed.
 */
export function poolSuite(set: (pool: BackupPool) => void): void {
  let pool: BackupPool;
  before(() => { pool = new BackupPool(); set(pool); });
  after(async () => { await pool.close(); });
  afterEach(async () => {
    await closeOpened();
    await removeTmpDirs();
  });
}

/** A fresh source instance (tracked: closeOpened closes it) with main.edb preloaded. */
export async function loadedSource(rows: number, params: InstanceParams = {}, dir?: string): Promise<{ dir: string; inst: Instance; db: Database; c: Counter }> {
  const d = dir ?? await tmpDir('restore-src-');
  const inst = track(await Instance.open(d, { ...SMALL, ...params }));
  const db = await inst.openDatabase('main.edb', { create: true });
  const c = await preload(db, rows);
  return { dir: d, inst, db, c };
}

/** The transaction a database holds last (s/last), 0 when none. */
export async function lastOf(db: Database): Promise<number> {
  const v = await db.get('s', 'last');
  return v ? v.readUInt32BE(0) : 0;
}

/**
 * Open a restored directory and check it: nothing to redo, main.edb there
 * under its name, and exactly the model after one P in [min, max]
 * (trees and values). Resolves to P.
 */
export async function expectRestoredState(dest: string, rows: number, min: number, max: number, what: string, params: InstanceParams = SMALL): Promise<number> {
  const inst = track(await Instance.open(dest, params));
  try {
    expect(inst.recovery?.transactionsRedone ?? 0, `${what}: transactions redone when opening the restored instance`).to.equal(0);
    expect(await readdir(dest), `${what}: files of the restored instance`).to.include('main.edb');
    const db = await inst.openDatabase('main.edb');
    const p = await lastOf(db);
    expect(p, `${what}: restored commit point`).to.be.within(min, max);
    await expectDatabaseEquals(db, modelAt(p, rows), `${what}: main.edb at commit point ${p}`);
    return p;
  } finally {
    await inst.close();
  }
}

/** Restore into a fresh directory (that restore creates) and check the state; resolves to P and the result. */
export async function restoreAndExpect(
  backupDir: string, rows: number, min: number, max: number, what: string, options: RestoreOptions = {},
): Promise<{ p: number; result: RestoreResult; dest: string }> {
  const dest = path.join(await tmpDir('restore-dest-'), 'inst');
  const result = await restore(backupDir, dest, { createPathIfNotExist: true, ...options });
  expect(result.destDir).to.equal(dest);
  expect(result.databases, `${what}: databases restored`).to.deep.equal(['main.edb']);
  const p = await expectRestoredState(dest, rows, min, max, what);
  return { p, result, dest };
}

// ---- backup sets ------------------------------------------------------------

export async function readSetManifest(setDir: string): Promise<Manifest> {
  const d = decodeManifest(await readFile(path.join(setDir, MANIFEST_NAME)));
  if (!d.ok) throw new Error(`manifest of ${setDir}: ${d.reason}`);
  return d.manifest;
}

export async function writeSetManifest(setDir: string, m: Manifest): Promise<void> {
  await writeFile(path.join(setDir, MANIFEST_NAME), encodeManifest(m));
}

/** Make the manifest's CRC of each named log match the file now there (a manifest "consistent" with edited logs). */
export async function refreshLogCrcs(setDir: string): Promise<void> {
  const m = await readSetManifest(setDir);
  for (const l of m.logs) l.crc = crc32c(await readFile(path.join(setDir, l.name)));
  await writeSetManifest(setDir, m);
}

/** A copy of a backup set (or any directory) to edit. */
export async function copySet(setDir: string): Promise<string> {
  const d = path.join(await tmpDir('restore-set-'), 'set');
  await cp(setDir, d, { recursive: true });
  return d;
}

/** A generation in the middle of the set: neither its first nor its last. */
export function middleLog(m: Manifest): Manifest['logs'][number] {
  expect(m.logs.length, 'the set has at least three generations').to.be.at.least(3);
  return m.logs[Math.floor(m.logs.length / 2)]!;
}

/** An initialized (not all-zero) data page near the middle of a database file. */
export async function usedPage(file: string, pageSize: number): Promise<number> {
  const buf = await readFile(file);
  const pages = buf.length / pageSize - 2;
  for (let p = Math.max(1, Math.floor(pages / 3)); p >= 1; p--) {
    const off = pageOffset(p, pageSize);
    if (buf.subarray(off, off + pageSize).some((b) => b !== 0)) return p;
  }
  throw new Error(`${file} has no initialized page`);
}

/** XOR one byte of data page `pgno` (in the body, past the page header). */
export async function flipPageByte(file: string, pgno: number, pageSize: number, at = 100): Promise<void> {
  const buf = await readFile(file);
  buf[pageOffset(pgno, pageSize) + at]! ^= 0xff;
  await writeFile(file, buf);
}

/** XOR one byte inside the first log record of a generation file (its payload). */
export async function flipLogRecordByte(file: string): Promise<void> {
  const buf = await readFile(file);
  buf[LOG_HEADER_BLOCK + 16]! ^= 0xff;
  await writeFile(file, buf);
}

export async function exists(p: string): Promise<boolean> {
  return stat(p).then(() => true, () => false);
}

/**
 * Restore of `setDir` fails with `errName` and writes nothing: a destination
 * that did not exist is not created (even with createPathIfNotExist), an
 * empty one stays empty. Resolves to the first error.
 */
export async function expectRefused(setDir: string, errName: JetErrName, pool?: BackupPool, options: RestoreOptions = {}): Promise<JetError> {
  const parent = await tmpDir('restore-refused-');
  const missing = path.join(parent, 'not-there');
  const o: RestoreOptions = { ...(pool ? { pool } : {}), ...options };
  const e = await expectJetError(restore(setDir, missing, { createPathIfNotExist: true, ...o }), errName);
  expect(await exists(missing), 'a refused restore created its destination').to.equal(false);
  const empty = path.join(parent, 'empty');
  await mkdir(empty);
  await expectJetError(restore(setDir, empty, o), errName);
  expect(await readdir(empty), 'a refused restore wrote into its destination').to.deep.equal([]);
  return e;
}
