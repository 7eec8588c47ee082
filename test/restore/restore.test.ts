/**
 * Restore round trips: full, full + incrementals, atomic sets replaced in
 * place, each also with writers committing during every backup. A restored
 * directory must hold exactly the committed state the set stands for, open
 * with nothing to redo, keep the databases' names, and back up again.
 * Also JetRestore / JetRestore2 and the JET_snpRestore status sequence.
 */
import { expect } from 'chai';
import { mkdir, readdir, rename } from 'node:fs/promises';
import * as path from 'node:path';
import {
  JET_bitBackupAtomic, JET_bitBackupIncremental, JET_snpRestore, JET_sntBegin, JET_sntComplete, JET_sntFail, JET_sntProgress,
  type BackupOptions, type BackupProgress,
} from '../../src/backup/options.js';
import type { BackupPool } from '../../src/backup/pool.js';
import type { Database } from '../../src/engine/database.js';
import { Instance } from '../../src/engine/instance.js';
import { JET_errSuccess, JET_errReadVerifyFailure } from '../../src/errors.js';
import { JetRestore, JetRestore2 } from '../../src/restore/jet-restore.js';
import { restore } from '../../src/restore/restore.js';
import { expectJetError } from '../helpers/engine.js';
import { tmpDir } from '../helpers/tmp-dir.js';
import { fill, rowsOf, track } from '../backup/failure-helpers.js';
import {
  SMALL, commitMany, copySet, exists, expectRestoredState, flipPageByte, loadedSource, poolSuite, readSetManifest, restoreAndExpect,
  startWriters, usedPage, waitFor, type Counter,
} from './restore-helpers.js';

const ROWS = 1200;

type Call = { snp: number; snt: number; p: BackupProgress | undefined };

describe('restore: round trips', function () {
  this.timeout(60_000);
  let pool: BackupPool;
  poolSuite((p) => { pool = p; });

  const opts = (o: BackupOptions = {}): BackupOptions => ({ pool, ...o });

  /** A backup with no writer running: the set stands for exactly c.begun. */
  async function quiet(inst: Instance, dir: string, grbit = 0) {
    await inst.checkpoint(); // pages on disk, so the copy holds real pages, not only log
    return inst.backup(dir, grbit, undefined, opts());
  }

  /** A fresh source with `commits` transactions, then a quiet backup (`grbit`) into a new directory. */
  async function sourceWithBackup(prefix: string, commits: number, grbit = 0) {
    const { inst, db, c } = await loadedSource(ROWS);
    const bdir = await tmpDir(prefix);
    await commitMany(db, c, commits);
    const backup = await quiet(inst, bdir, grbit);
    return { inst, db, c, bdir, backup };
  }

  /**
   * `writers` writers committing; once 40 more transactions have begun, `backup`
   * runs. Resolves to the commit points the set may stand for: acknowledged
   * before the backup (min) and begun by its end (max).
   */
  async function underWriters(db: Database, c: Counter, writers: number, backup: () => Promise<unknown>): Promise<{ min: number; max: number }> {
    const w = startWriters(db, c, writers, 4);
    try {
      const base = c.begun;
      await waitFor(() => c.begun >= base + 40, 'writes before the backup');
      const min = c.acked;
      await backup();
      return { min, max: c.begun };
    } finally {
      await w.stop();
    }
  }

  it('a full backup restores to exactly the committed state; the restored instance opens with nothing to redo, takes writes and backs up again', async () => {
    const { inst, c, bdir, backup: full } = await sourceWithBackup('rt-full-', 60);
    const p = c.begun;
    await inst.close();

    const { p: got, result, dest } = await restoreAndExpect(bdir, ROWS, p, p, 'full backup', { pool });
    expect(got).to.equal(p);
    expect(result.setDir).to.equal(bdir);
    expect(result.generations).to.deep.equal(full.generations);
    expect(result.bytes, 'bytes copied').to.be.greaterThan(0);

    // The restored instance is a normal one: more commits, a new full backup, and that restores too.
    const again = track(await Instance.open(dest, SMALL));
    const db2 = await again.openDatabase('main.edb');
    await commitMany(db2, c, 30);
    const bdir2 = await tmpDir('rt-full-again-');
    const second = await quiet(again, bdir2);
    expect(second.type).to.equal('full');
    await again.close();
    expect((await restoreAndExpect(bdir2, ROWS, c.begun, c.begun, 'backup of the restored instance', { pool })).p).to.equal(p + 30);
  });

  it('a full backup and two incrementals restore to exactly the state at the last incremental, replaying the full\'s first generation through the last one', async () => {
    const { inst, db, c, bdir, backup: full } = await sourceWithBackup('rt-incr-', 30);
    let last = full;
    for (const round of [1, 2]) {
      await commitMany(db, c, 120);
      const prevHigh = last.generations!.high;
      last = await quiet(inst, bdir, JET_bitBackupIncremental);
      expect(last.generations!.low, `incremental ${round} follows the backup before it`).to.equal(prevHigh + 1);
      const { result } = await restoreAndExpect(bdir, ROWS, c.begun, c.begun, `after incremental ${round}`, { pool });
      expect(result.generations).to.deep.equal({ low: full.generations!.low, high: last.generations!.high });
      expect(result.recovery?.transactionsRedone, `incremental ${round}: restore replayed the transactions`).to.be.greaterThan(0);
    }
    await inst.close();
  });

  it('atomic backups replace the older set: restoring the backup directory finds new/ and gives the newest state, and an incremental added to new/ restores too', async () => {
    const { inst, db, c, bdir } = await sourceWithBackup('rt-atomic-', 30, JET_bitBackupAtomic);
    const first = c.begun;
    expect((await restoreAndExpect(bdir, ROWS, first, first, 'first atomic backup', { pool })).result.setDir).to.equal(path.join(bdir, 'new'));

    await commitMany(db, c, 90);
    await quiet(inst, bdir, JET_bitBackupAtomic);
    expect(await readdir(bdir), 'only new/ is left').to.deep.equal(['new']);
    const { result } = await restoreAndExpect(bdir, ROWS, c.begun, c.begun, 'second atomic backup', { pool });
    expect(result.setDir).to.equal(path.join(bdir, 'new'));

    await commitMany(db, c, 90);
    await quiet(inst, bdir, JET_bitBackupIncremental);
    await restoreAndExpect(bdir, ROWS, c.begun, c.begun, 'incremental after the atomic backup', { pool });
    await inst.close();
  });

  it('an atomic swap cut off after new/ became old/ (only old/ holds a set) still restores that set', async () => {
    const { inst, c, bdir } = await sourceWithBackup('rt-old-', 30, JET_bitBackupAtomic);
    await inst.close();
    await rename(path.join(bdir, 'new'), path.join(bdir, 'old'));
    const { result } = await restoreAndExpect(bdir, ROWS, c.begun, c.begun, 'set found in old/', { pool });
    expect(result.setDir).to.equal(path.join(bdir, 'old'));
  });

  it('with writers committing during the full backup and each incremental, every restore is exactly one commit point between that backup\'s start and end, and a final incremental after the writers stop restores exactly', async () => {
    const { inst, db, c } = await loadedSource(ROWS);
    const bdir = await tmpDir('rt-busy-');
    await inst.checkpoint();
    let prev = 0;
    for (const grbit of [0, JET_bitBackupIncremental, JET_bitBackupIncremental]) {
      const { min, max } = await underWriters(db, c, 3, () => inst.backup(bdir, grbit, undefined, opts({ rateBytesPerSec: grbit === 0 ? 4e6 : 8e6 })));
      expect(max, 'writers committed while the backup ran').to.be.greaterThan(min);
      const what = grbit === 0 ? 'full backup under writers' : 'incremental under writers';
      const { p } = await restoreAndExpect(bdir, ROWS, min, max, what, { pool });
      expect(p, `${what}: the set moved forward`).to.be.at.least(prev);
      prev = p;
    }
    // Writers stopped: everything acknowledged is committed, and a quiet incremental captures all of it.
    await commitMany(db, c, 5);
    await quiet(inst, bdir, JET_bitBackupIncremental);
    const { p } = await restoreAndExpect(bdir, ROWS, c.begun, c.begun, 'final incremental with no writers', { pool });
    expect(p).to.equal(c.acked);
    await inst.close();
  });

  it('with writers committing during atomic backups, each restore of the directory is one commit point of the newest backup, and a final incremental restores exactly', async () => {
    const { inst, db, c } = await loadedSource(ROWS);
    const bdir = await tmpDir('rt-busy-atomic-');
    await inst.checkpoint();
    for (const round of [1, 2]) {
      const { min, max } = await underWriters(db, c, 2, () => inst.backup(bdir, JET_bitBackupAtomic, undefined, opts({ rateBytesPerSec: 4e6 })));
      await restoreAndExpect(bdir, ROWS, min, max, `atomic backup ${round} under writers`, { pool });
    }
    await quiet(inst, bdir, JET_bitBackupIncremental);
    await restoreAndExpect(bdir, ROWS, c.begun, c.begun, 'incremental after the busy atomic backups', { pool });
    await inst.close();
  });

  it('every database of the instance is restored under its own file name with its own contents', async () => {
    const { inst, db, c } = await loadedSource(300);
    const aux = await inst.openDatabase('aux.edb', { create: true });
    await commitMany(db, c, 20);
    await fill(aux, 400, 'a');
    const bdir = await tmpDir('rt-two-');
    const r = await quiet(inst, bdir);
    expect(r.databases.map((d) => d.name).sort()).to.deep.equal(['aux.edb', 'main.edb']);
    const auxRows = await rowsOf(aux);
    await inst.close();

    const dest = path.join(await tmpDir('rt-two-dest-'), 'inst');
    const result = await restore(bdir, dest, { createPathIfNotExist: true, pool });
    expect(result.databases.slice().sort()).to.deep.equal(['aux.edb', 'main.edb']);
    expect((await readdir(dest)).filter((n) => n.endsWith('.edb')).sort()).to.deep.equal(['aux.edb', 'main.edb']);
    await expectRestoredState(dest, 300, c.begun, c.begun, 'main.edb beside aux.edb');
    const again = track(await Instance.open(dest, SMALL));
    expect(await rowsOf(await again.openDatabase('aux.edb')), 'aux.edb rows').to.deep.equal(auxRows);
    await again.close();
  });

  it('a database in a subdirectory of the instance (data/aux.edb) is backed up and restored under the same relative path', async () => {
    const { dir, inst } = await loadedSource(100);
    await mkdir(path.join(dir, 'data'));
    const aux = await inst.openDatabase('data/aux.edb', { create: true });
    await fill(aux, 200, 'd');
    const auxRows = await rowsOf(aux);
    const bdir = await tmpDir('rt-subdir-');
    await quiet(inst, bdir);
    await inst.close();
    const dest = path.join(await tmpDir('rt-subdir-dest-'), 'inst');
    const result = await restore(bdir, dest, { createPathIfNotExist: true, pool });
    expect(result.databases.slice().sort()).to.deep.equal(['data/aux.edb', 'main.edb']);
    expect(await exists(path.join(dest, 'data', 'aux.edb'))).to.equal(true);
    const again = track(await Instance.open(dest, SMALL));
    expect(await rowsOf(await again.openDatabase('data/aux.edb'))).to.deep.equal(auxRows);
    await again.close();
  });

  it('JetRestore2(sz, dest, pfn) resolves to JET_errSuccess and restores the same state, calling pfn with JET_snpRestore', async () => {
    const { inst, c, bdir } = await sourceWithBackup('rt-jet2-', 40);
    await inst.close();
    const dest = path.join(await tmpDir('rt-jet2-dest-'), 'a', 'b');
    const snps: number[] = [];
    expect(await JetRestore2(bdir, dest, (snp) => { snps.push(snp); })).to.equal(JET_errSuccess);
    expect(await expectRestoredState(dest, ROWS, c.begun, c.begun, 'JetRestore2')).to.equal(c.begun);
    expect(snps.length).to.be.at.least(2);
    expect(snps.every((s) => s === JET_snpRestore)).to.equal(true);
  });

  it('JetRestore(sz) restores into the instance directory recorded in the manifest, after the original was moved away', async () => {
    const parent = await tmpDir('rt-jet-');
    const original = path.join(parent, 'instance');
    const { inst, db, c } = await loadedSource(ROWS, { createPathIfNotExist: true }, original);
    await commitMany(db, c, 40);
    const bdir = await tmpDir('rt-jet-bk-');
    await quiet(inst, bdir);
    await inst.close();
    expect((await readSetManifest(bdir)).instanceDir).to.equal(original);
    await rename(original, path.join(parent, 'moved-away'));

    expect(await JetRestore(bdir)).to.equal(JET_errSuccess);
    expect(await exists(original), 'JetRestore recreated the original instance directory').to.equal(true);
    expect(await expectRestoredState(original, ROWS, c.begun, c.begun, 'JetRestore into the original directory')).to.equal(c.begun);
  });

  it('status: JET_snpRestore with Begin first, non-decreasing Progress, and Complete last with done = total', async () => {
    const { inst, db, c, bdir } = await sourceWithBackup('rt-status-', 40);
    await commitMany(db, c, 100);
    await quiet(inst, bdir, JET_bitBackupIncremental);
    await inst.close();
    const calls: Call[] = [];
    const dest = path.join(await tmpDir('rt-status-dest-'), 'inst');
    await restore(bdir, dest, { createPathIfNotExist: true, pool, status: (snp, snt, p) => { calls.push({ snp, snt, p: p && { ...p } }); } });

    expect(calls.every((x) => x.snp === JET_snpRestore), 'every call has snp JET_snpRestore (8)').to.equal(true);
    expect(calls[0]!.snt, 'first call').to.equal(JET_sntBegin);
    expect(calls[0]!.p?.cunitTotal).to.be.greaterThan(0);
    const last = calls[calls.length - 1]!;
    expect(last.snt, 'last call').to.equal(JET_sntComplete);
    expect(last.p?.cunitDone).to.equal(last.p?.cunitTotal);
    const middle = calls.slice(1, -1);
    expect(middle.length, 'at least one Progress').to.be.at.least(1);
    expect(middle.map((x) => x.snt).filter((s) => s !== JET_sntProgress), 'only Progress between Begin and Complete').to.deep.equal([]);
    const done = calls.map((x) => x.p?.cunitDone ?? 0);
    for (let i = 1; i < done.length; i++) expect(done[i], `cunitDone at call ${i}`).to.be.at.least(done[i - 1]!);
    const phases = middle.map((x) => x.p?.phase);
    expect(phases, 'progress during the copy, then during the replay').to.include('replay');
    expect(phases.indexOf('replay'), 'replay comes after the copy').to.be.greaterThan(phases.lastIndexOf('pages'));
    expect(middle.filter((x) => x.p?.phase === 'replay').at(-1)!.p?.cunitDone, 'the replay ends at the total').to.equal(last.p?.cunitTotal);
    await expectRestoredState(dest, ROWS, c.begun, c.begun, 'restore with a status callback');
  });

  it('status: a failing restore ends with Fail carrying the error, and never reports Complete', async () => {
    const { inst, bdir } = await sourceWithBackup('rt-status-fail-', 20);
    await inst.close();
    const set = await copySet(bdir);
    const file = path.join(set, 'main.edb');
    await flipPageByte(file, await usedPage(file, SMALL.pageSize!), SMALL.pageSize!);
    const calls: Call[] = [];
    const dest = path.join(await tmpDir('rt-status-fail-dest-'), 'inst');
    await expectJetError(restore(set, dest, { createPathIfNotExist: true, pool, status: (snp, snt, p) => { calls.push({ snp, snt, p: p && { ...p } }); } }),
      'JET_errReadVerifyFailure');
    expect(calls.length).to.be.at.least(1);
    expect(calls.every((x) => x.snp === JET_snpRestore)).to.equal(true);
    const last = calls[calls.length - 1]!;
    expect(last.snt, 'last call').to.equal(JET_sntFail);
    expect(last.p?.err).to.equal(JET_errReadVerifyFailure);
    expect(calls.filter((x) => x.snt === JET_sntComplete), 'no Complete').to.deep.equal([]);
    expect(await exists(dest)).to.equal(false);
  });
});
