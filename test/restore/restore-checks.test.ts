/**
 * The checks restore makes before writing anything, each forced by editing a
 * copy of a real backup set: gaps and foreign or out-of-order generations,
 * database copies from another backup or another instance, flipped bytes in
 * pages and log records, truncated copies, a missing or half-written
 * manifest; and the destination rules (live instance, non-empty directory,
 * overwrite). A refused restore must leave its destination as it was; one
 * that fails after it began writing removes what it wrote.
 */
import { expect } from 'chai';
import { copyFile, mkdir, readFile, readdir, rename, stat, truncate, unlink, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { JET_bitBackupIncremental, JET_sntProgress, type BackupProgress } from '../../src/backup/options.js';
import { BackupPool } from '../../src/backup/pool.js';
import { Instance } from '../../src/engine/instance.js';
import { JET_errReadVerifyFailure } from '../../src/errors.js';
import { MANIFEST_NAME, type Manifest } from '../../src/format/backup-manifest.js';
import { JetRestore2 } from '../../src/restore/jet-restore.js';
import { restore } from '../../src/restore/restore.js';
import { verify } from '../../src/restore/verify.js';
import { expectJetError } from '../helpers/engine.js';
import { removeTmpDirs, tmpDir } from '../helpers/tmp-dir.js';
import { closeOpened, fingerprint, track } from '../backup/failure-helpers.js';
import {
  SMALL, commitMany, copySet, exists, expectRefused, expectRestoredState, flipLogRecordByte, flipPageByte, loadedSource,
  middleLog, readSetManifest, refreshLogCrcs, usedPage,
} from './restore-helpers.js';

const ROWS = 1500;
const PAGE = SMALL.pageSize!;

interface Sets {
  /** An older full backup of the same instance. */
  old: string;
  /** Full + incremental: the set the tests edit copies of. */
  set: string;
  m: Manifest;
  committed: number;
}

/** The same workload on a fresh instance each time: two calls give sets with the same generations and file sizes. */
async function makeSets(pool: BackupPool): Promise<Sets> {
  const { inst, db, c } = await loadedSource(ROWS);
  const old = await tmpDir('chk-old-');
  const set = await tmpDir('chk-set-');
  await commitMany(db, c, 60);
  await inst.checkpoint();
  await inst.backup(old, 0, undefined, { pool });
  await commitMany(db, c, 100);
  await inst.checkpoint();
  await inst.backup(set, 0, undefined, { pool });
  await commitMany(db, c, 150);
  await inst.backup(set, JET_bitBackupIncremental, undefined, { pool });
  await inst.close();
  return { old, set, m: await readSetManifest(set), committed: c.begun };
}

describe('restore: checks before anything is written', function () {
  this.timeout(60_000);
  let pool: BackupPool;
  let X: Sets;
  let Y: Sets;
  before(async () => {
    pool = new BackupPool();
    X = await makeSets(pool);
    Y = await makeSets(pool);
  });
  after(async () => {
    await pool.close();
    await closeOpened();
    await removeTmpDirs();
  });
  afterEach(closeOpened);

  const logFile = (dir: string, g: number) => path.join(dir, X.m.logs.find((l) => l.generation === g)!.name);

  /** A copy of X's set with the middle generation g and g + 1 swapped by renaming. */
  async function swappedGenerations(): Promise<{ set: string; g: number }> {
    const set = await copySet(X.set);
    const { generation: g } = middleLog(X.m);
    const [a, b] = [logFile(set, g), logFile(set, g + 1)];
    await rename(a, `${a}.x`);
    await rename(b, a);
    await rename(`${a}.x`, b);
    return { set, g };
  }

  it('the untouched set restores (the baseline the edits below break)', async () => {
    const dest = path.join(await tmpDir('chk-ok-'), 'inst');
    await restore(X.set, dest, { createPathIfNotExist: true, pool });
    await expectRestoredState(dest, ROWS, X.committed, X.committed, 'untouched set');
  });

  it('a deleted middle generation: JET_errMissingRestoreLogFiles naming the generation and its file', async () => {
    const set = await copySet(X.set);
    const { generation: g, name } = middleLog(X.m);
    await unlink(path.join(set, name));
    const e = await expectRefused(set, 'JET_errMissingRestoreLogFiles', pool);
    expect(e.detail).to.include(`(generation ${g})`).and.to.include(name).and.to.include('missing');
  });

  it('a generation swapped in from another instance\'s set (same number): refused at its CRC32C first (JET_errLogReadVerifyFailure), naming the generation', async () => {
    const set = await copySet(X.set);
    const { generation: g, name } = middleLog(X.m);
    expect(Y.m.logs.map((l) => l.generation), 'the other instance\'s set has the same generation').to.include(g);
    await copyFile(path.join(Y.set, name), path.join(set, name));
    const e = await expectRefused(set, 'JET_errLogReadVerifyFailure', pool);
    expect(e.detail).to.include(`${name} (generation ${g})`).and.to.include('CRC32C');
  });

  it('a foreign generation the manifest\'s CRC32C agrees with is still refused: JET_errGivenLogFileHasBadSignature naming the generation', async () => {
    const set = await copySet(X.set);
    const { generation: g, name } = middleLog(X.m);
    await copyFile(path.join(Y.set, name), path.join(set, name));
    await refreshLogCrcs(set);
    const e = await expectRefused(set, 'JET_errGivenLogFileHasBadSignature', pool);
    expect(e.detail).to.include(`${name} (generation ${g})`).and.to.include('another log sequence');
  });

  it('two generations of the instance swapped by renaming: refused at the CRC32C of the first one (JET_errLogReadVerifyFailure)', async () => {
    const { set, g } = await swappedGenerations();
    const e = await expectRefused(set, 'JET_errLogReadVerifyFailure', pool);
    expect(e.detail).to.include(`(generation ${g})`);
  });

  it('two generations swapped under a manifest that agrees with their CRC32C: JET_errGivenLogFileIsNotContiguous naming the generation out of place', async () => {
    const { set, g } = await swappedGenerations();
    await refreshLogCrcs(set);
    const e = await expectRefused(set, 'JET_errGivenLogFileIsNotContiguous', pool);
    expect(e.detail).to.include(`(generation ${g})`).and.to.include(`holds generation ${g + 1}, not ${g}`);
  });

  it('main.edb from an older full backup of the same instance: JET_errDatabasePatchFileMismatch first, naming both backups\' generations', async () => {
    const set = await copySet(X.set);
    const [oldSize, size] = [(await stat(path.join(X.old, 'main.edb'))).size, (await stat(path.join(X.set, 'main.edb'))).size];
    expect(oldSize, 'precondition: the older copy has the same size').to.equal(size);
    await copyFile(path.join(X.old, 'main.edb'), path.join(set, 'main.edb'));
    const e = await expectRefused(set, 'JET_errDatabasePatchFileMismatch', pool);
    const full = X.m.backups[0]!;
    expect(e.detail).to.include('main.edb').and.to.include(`(${full.genLow}..${full.genHigh})`);
  });

  it('main.edb from another instance\'s backup: JET_errBadDbSignature', async () => {
    const set = await copySet(X.set);
    expect((await stat(path.join(Y.set, 'main.edb'))).size, 'precondition: the foreign copy has the same size').to.equal((await stat(path.join(X.set, 'main.edb'))).size);
    await copyFile(path.join(Y.set, 'main.edb'), path.join(set, 'main.edb'));
    const e = await expectRefused(set, 'JET_errBadDbSignature', pool);
    expect(e.detail).to.include('main.edb').and.to.include('signature');
  });

  it('a flipped byte in a data page: JET_errReadVerifyFailure naming the page', async () => {
    const set = await copySet(X.set);
    const file = path.join(set, 'main.edb');
    const pgno = await usedPage(file, PAGE);
    await flipPageByte(file, pgno, PAGE);
    const e = await expectRefused(set, 'JET_errReadVerifyFailure', pool);
    expect(e.detail).to.include(`main.edb page ${pgno}:`);
  });

  it('a flipped byte in a log record: JET_errLogReadVerifyFailure naming the generation', async () => {
    const set = await copySet(X.set);
    const { generation: g, name } = middleLog(X.m);
    await flipLogRecordByte(path.join(set, name));
    const e = await expectRefused(set, 'JET_errLogReadVerifyFailure', pool);
    expect(e.detail).to.include(`${name} (generation ${g})`);
  });

  it('a truncated database copy: JET_errReadVerifyFailure naming its size and the size the backup wrote', async () => {
    const set = await copySet(X.set);
    const file = path.join(set, 'main.edb');
    const bytes = X.m.databases[0]!.bytes;
    expect(bytes).to.be.greaterThan(20 * PAGE);
    await truncate(file, 20 * PAGE);
    const e = await expectRefused(set, 'JET_errReadVerifyFailure', pool);
    expect(e.detail).to.include(`is ${20 * PAGE} bytes; the backup wrote ${bytes}`);
  });

  it('no manifest: JET_errPatchFileMissing saying the set holds no esebackup.manifest', async () => {
    const set = await copySet(X.set);
    await unlink(path.join(set, MANIFEST_NAME));
    const e = await expectRefused(set, 'JET_errPatchFileMissing', pool);
    expect(e.detail).to.include('no complete backup set').and.to.include(MANIFEST_NAME);
  });

  it('a half-written manifest is refused: JET_errPatchFileMissing saying it is unusable', async () => {
    const set = await copySet(X.set);
    const file = path.join(set, MANIFEST_NAME);
    const buf = await readFile(file);
    await writeFile(file, buf.subarray(0, buf.length >> 1));
    const e = await expectRefused(set, 'JET_errPatchFileMissing', pool);
    expect(e.detail).to.include(MANIFEST_NAME).and.to.include('unusable');
  });

  it('JetRestore2 resolves to the check\'s error number instead of throwing', async () => {
    const set = await copySet(X.set);
    const file = path.join(set, 'main.edb');
    await flipPageByte(file, await usedPage(file, PAGE), PAGE);
    const dest = path.join(await tmpDir('chk-jet2-'), 'inst');
    expect(await JetRestore2(set, dest, null)).to.equal(JET_errReadVerifyFailure);
    expect(await exists(dest)).to.equal(false);
  });

  it('into a directory a live instance holds: JET_errFileAccessDenied, and the instance\'s files are untouched', async () => {
    const live = await tmpDir('chk-live-');
    const inst = track(await Instance.open(live, SMALL));
    const db = await inst.openDatabase('main.edb', { create: true });
    await db.put('t', 'mine', 'live');
    const before = await fingerprint(live);
    const e = await expectJetError(restore(X.set, live, { overwrite: true, pool }), 'JET_errFileAccessDenied');
    expect(e.detail).to.include(live);
    expect(await fingerprint(live)).to.deep.equal(before);
    expect((await db.get('t', 'mine'))?.toString()).to.equal('live');
    await inst.close();
  });

  it('into a non-empty directory: JET_errInvalidPath without overwrite (nothing changed); with overwrite the old instance\'s files are replaced', async () => {
    const dest = await tmpDir('chk-nonempty-');
    // An older, unrelated instance with more generations than the set and another database.
    const { inst, db } = await loadedSource(9000, {}, dest);
    await inst.openDatabase('other.edb', { create: true });
    await db.put('t', 'stale', 'x');
    await inst.close();
    await writeFile(path.join(dest, 'notes.txt'), 'not an instance file');
    const generationsOf = (names: string[]) => names.filter((n) => /^edb[0-9A-F]{8}\.log$/.test(n)).map((n) => parseInt(n.slice(3, 11), 16));
    const oldHigh = Math.max(...generationsOf(await readdir(dest)));
    expect(oldHigh, 'precondition: the old instance has generations past the set\'s last').to.be.greaterThan(X.m.logs[X.m.logs.length - 1]!.generation);
    const before = await fingerprint(dest);
    const e = await expectJetError(restore(X.set, dest, { pool }), 'JET_errInvalidPath');
    expect(e.detail).to.include('not empty').and.to.include('overwrite');
    expect(await fingerprint(dest), 'a refused restore changed the directory').to.deep.equal(before);

    const r = await restore(X.set, dest, { overwrite: true, pool });
    const names = await readdir(dest);
    expect(names).to.not.include('other.edb');
    expect(names, 'files that are not instance files stay').to.include('notes.txt');
    expect(Math.max(...generationsOf(names)), 'no generation of the old instance is left').to.equal(r.generations.high);
    await expectRestoredState(dest, ROWS, X.committed, X.committed, 'restore with overwrite');
  });

  it('into a directory that does not exist without createPathIfNotExist: JET_errInvalidPath, and nothing is created', async () => {
    const dest = path.join(await tmpDir('chk-nodir-'), 'inst');
    await expectJetError(restore(X.set, dest, { pool }), 'JET_errInvalidPath');
    expect(await exists(dest)).to.equal(false);
  });

  it('a restore that fails after it began copying removes what it wrote: a directory it created is removed, an existing one is left empty', async () => {
    const copied: string[] = [];
    const throwOnProgress = (_snp: number, snt: number, p?: BackupProgress) => {
      if (snt !== JET_sntProgress) return;
      if (p?.file) copied.push(p.file);
      throw new Error('callback gives up');
    };
    const parent = await tmpDir('chk-cleanup-');
    const made = path.join(parent, 'made');
    await expectJetError(restore(X.set, made, { createPathIfNotExist: true, pool, status: throwOnProgress }), 'JET_errCallbackFailed');
    expect(copied, 'the restore had copied a file when it failed').to.deep.equal(['main.edb']);
    expect(await exists(made), 'the directory the restore created').to.equal(false);
    const existing = path.join(parent, 'existing');
    await mkdir(existing);
    await writeFile(path.join(existing, 'notes.txt'), 'kept');
    await expectJetError(restore(X.set, existing, { overwrite: true, pool, status: throwOnProgress }), 'JET_errCallbackFailed');
    expect(await readdir(existing), 'what is left after the failed restore').to.deep.equal(['notes.txt']);
  });

  it('a restore aborted through its signal while copying fails with errBackupAbortByCaller and leaves nothing', async () => {
    const ac = new AbortController();
    const dest = path.join(await tmpDir('chk-abort-'), 'inst');
    await expectJetError(restore(X.set, dest, {
      createPathIfNotExist: true, pool, signal: ac.signal, status: (snp, snt) => { if (snt === JET_sntProgress) ac.abort(); },
    }), 'errBackupAbortByCaller');
    expect(await exists(dest)).to.equal(false);
  });

  it('verify lists every problem the refused restores above stop at (restore reports the first)', async () => {
    const set = await copySet(X.set);
    const { generation: g, name } = middleLog(X.m);
    await copyFile(path.join(Y.set, name), path.join(set, name));
    const report = await verify(set, { pool });
    const at = report.problems.filter((p) => p.generation === g).map((p) => p.errName);
    expect(at).to.include.members(['JET_errLogReadVerifyFailure', 'JET_errGivenLogFileHasBadSignature']);
    const e = await expectRefused(set, report.problems[0]!.errName, pool);
    expect(e.detail).to.include(`and ${report.problems.length - 1} more problem`);
  });
});
