/**
 * Helpers for the online-backup tests: the model state after transactions
 * 1..P (test/fixtures/backup-model.ts), restoring a backup and checking it
 * is exactly one such state, and the log generations of an instance.
 */
import { expect } from 'chai';
import { readdir } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { JET_sntProgress, type StatusCallback } from '../../src/backup/options.js';
import type { Database } from '../../src/engine/database.js';
import { Instance } from '../../src/engine/instance.js';
import type { InstanceParams } from '../../src/engine/params.js';
import { restore, type RestoreResult } from '../../src/restore/restore.js';
import { removeTmpDirs, tmpDir } from '../helpers/tmp-dir.js';
import { Model, expectDatabaseEquals, verifyEveryPage } from '../tables/table-helpers.js';
import { STATE, commitNext, dbOf, preloadOps, txOps, type Counter, type Op } from '../fixtures/backup-model.js';

export { removeTmpDirs, tmpDir };

function applyOps(m: Model, ops: Op[]): void {
  for (const o of ops) {
    if (o.op === 'put') m.put(o.table, o.key, o.value);
    else m.delete(o.table, o.key);
  }
}

/** The state of each of `ndb` databases after the preload and transactions 1..p. */
export function modelAt(p: number, ndb: number, preloadRows: number): Model[] {
  const models = Array.from({ length: ndb }, (_, d) => {
    const m = new Model();
    applyOps(m, preloadOps(preloadRows, d));
    return m;
  });
  for (let i = 1; i <= p; i++) applyOps(models[dbOf(i, ndb)]!, txOps(i, ndb, preloadRows));
  return models;
}

/** The last transaction a database holds (its state/last row), 0 when none. */
export async function lastOf(db: Database): Promise<number> {
  const v = await db.get(STATE, 'last');
  return v ? v.readUInt32BE(0) : 0;
}

export interface Expected {
  dbNames: string[];
  preloadRows: number;
  /** The single commit point must be at least this (every transaction acknowledged before the backup began) ... */
  min: number;
  /** ... and at most this (every transaction begun before the backup ended). */
  max: number;
  params: InstanceParams;
}

/**
 * Restore `backupDir` into a fresh directory, open it, and check that every
 * database is exactly the model after transactions 1..P for one P in
 * [min, max], trees and pages sound. Resolves to P and the restore's result.
 */
export async function restoreAndCheck(backupDir: string, e: Expected, what: string): Promise<{ p: number; restored: RestoreResult }> {
  const dest = await tmpDir('backup-restored-');
  const restored = await restore(backupDir, dest);
  expect(restored.databases.slice().sort(), `${what}: databases restored`).to.deep.equal(e.dbNames.slice().sort());
  const inst = await Instance.open(dest, e.params);
  let p: number;
  try {
    const dbs = await Promise.all(e.dbNames.map((n) => inst.openDatabase(n)));
    const lasts = await Promise.all(dbs.map(lastOf));
    // With several databases, transaction P is in the database that holds the highest one.
    p = Math.max(...lasts);
    expect(p, `${what}: restored commit point (acknowledged before the backup began: ${e.min})`).to.be.at.least(e.min);
    expect(p, `${what}: restored commit point (begun before the backup ended: ${e.max})`).to.be.at.most(e.max);
    const models = modelAt(p, dbs.length, e.preloadRows);
    for (let d = 0; d < dbs.length; d++) await expectDatabaseEquals(dbs[d]!, models[d]!, `${what}: ${e.dbNames[d]} at commit point ${p}`);
  } finally {
    await inst.close();
  }
  for (const n of e.dbNames) await verifyEveryPage(dest, n);
  return { p, restored };
}

/** The finished generations in an instance's log directory, ascending. */
export async function archivedGenerations(dir: string, base = 'edb'): Promise<number[]> {
  const re = new RegExp(`^${base}([0-9A-F]{8})\\.log$`);
  return (await readdir(dir)).flatMap((n) => {
    const m = re.exec(n);
    return m ? [parseInt(m[1]!, 16)] : [];
  }).sort((a, b) => a - b);
}

export type Happening =
  | { type: 'roll' }
  | { type: 'checkpoint'; gen: number }
  | { type: 'truncate'; generations: number[] }
  /** A status callback's progress report from the log phase: `file` (and those before it) copied. */
  | { type: 'log-copied'; file: string };

export interface Watched<T> {
  value: T;
  /** Rolls, checkpoints, truncations and log-copy progress, in the order they happened. */
  timeline: Happening[];
  rolls: number;
  checkpoints: number[];
}

/** Run `during` (given a status callback to pass to the backup), recording what the instance did meanwhile. */
export async function watchEvents<T>(inst: Instance, during: (status: StatusCallback) => Promise<T>): Promise<Watched<T>> {
  const timeline: Happening[] = [];
  const on = (ev: { type: string; [k: string]: unknown }) => {
    if (ev.type === 'roll') timeline.push({ type: 'roll' });
    else if (ev.type === 'checkpoint') timeline.push({ type: 'checkpoint', gen: (ev.lgpos as { gen: number }).gen });
    else if (ev.type === 'truncate') timeline.push({ type: 'truncate', generations: ev.generations as number[] });
  };
  const status: StatusCallback = (_snp, snt, p) => {
    if (snt === JET_sntProgress && p?.phase === 'logs' && p.file) timeline.push({ type: 'log-copied', file: p.file });
  };
  inst.on('event', on);
  try {
    const value = await during(status);
    return {
      value, timeline,
      rolls: timeline.filter((h) => h.type === 'roll').length,
      checkpoints: timeline.flatMap((h) => (h.type === 'checkpoint' ? [h.gen] : [])),
    };
  } finally {
    inst.off('event', on);
  }
}

/** Commit `n` transactions one after the other, alternately durable and lazy. */
export async function commitMany(inst: Instance, dbs: Database[], c: Counter, n: number, preloadRows: number): Promise<void> {
  for (let k = 0; k < n; k++) await commitNext(inst, dbs, c, preloadRows, k % 2 === 0);
}

export async function until(cond: () => boolean, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}
