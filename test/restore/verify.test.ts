/**
 * verify(): backup sets and instance directories at rest. A clean set or
 * instance is ok with no problems; each injected fault is found and named
 * (file, page or generation, error), several faults are all listed, and an
 * instance someone has open is refused.
 */
import { expect } from 'chai';
import { copyFile, mkdir, readFile, rename, truncate, unlink, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { JET_bitBackupAtomic, JET_bitBackupIncremental } from '../../src/backup/options.js';
import { BackupPool } from '../../src/backup/pool.js';
import { Instance } from '../../src/engine/instance.js';
import { MANIFEST_NAME, type Manifest } from '../../src/format/backup-manifest.js';
import { restore } from '../../src/restore/restore.js';
import { verify, type VerifyReport } from '../../src/restore/verify.js';
import type { VerifyProblem } from '../../src/restore/verify-set.js';
import { expectJetError } from '../helpers/engine.js';
import { removeTmpDirs, tmpDir } from '../helpers/tmp-dir.js';
import { closeOpened, track } from '../backup/failure-helpers.js';
import {
  SMALL, commitMany, copySet, flipLogRecordByte, flipPageByte, loadedSource, middleLog, readSetManifest, usedPage,
} from './restore-helpers.js';

const ROWS = 1500;
const PAGE = SMALL.pageSize!;

/** Problems as short strings for readable assertion messages. */
const show = (r: VerifyReport) => r.problems.map((p) => `${p.errName} ${path.basename(p.file)} page=${p.page} gen=${p.generation}: ${p.what}`);

function expectProblem(r: VerifyReport, want: Partial<VerifyProblem> & { fileName: string }): VerifyProblem {
  const { fileName, ...rest } = want;
  const hit = r.problems.find((p) => path.basename(p.file) === fileName && Object.entries(rest).every(([k, v]) => p[k as keyof VerifyProblem] === v));
  expect(hit, `a problem ${JSON.stringify(want)} among ${JSON.stringify(show(r), null, 1)}`).to.not.equal(undefined);
  expect(r.ok).to.equal(false);
  return hit!;
}

describe('verify', function () {
  this.timeout(60_000);
  let pool: BackupPool;
  let set: string;
  let other: string;
  const olds: string[] = [];
  let m: Manifest;
  before(async () => {
    pool = new BackupPool();
    const sets: string[] = [];
    for (const _ of [1, 2]) {
      const { inst, db, c } = await loadedSource(ROWS);
      const b = await tmpDir('verify-set-');
      await inst.checkpoint();
      const o = await tmpDir('verify-old-');
      await inst.backup(o, 0, undefined, { pool });
      olds.push(o);
      await commitMany(db, c, 60);
      await inst.checkpoint();
      await inst.backup(b, 0, undefined, { pool });
      await commitMany(db, c, 150);
      await inst.backup(b, JET_bitBackupIncremental, undefined, { pool });
      await inst.close();
      sets.push(b);
    }
    [set, other] = sets as [string, string];
    m = await readSetManifest(set);
  });
  after(async () => {
    await pool.close();
    await closeOpened();
    await removeTmpDirs();
  });
  afterEach(closeOpened);

  it('a clean backup set is ok with no problems, every page and generation counted', async () => {
    const r = await verify(set, { pool });
    expect(show(r)).to.deep.equal([]);
    expect(r.ok).to.equal(true);
    expect(r.kind).to.equal('backup-set');
    expect(r.setDir).to.equal(set);
    expect(r.generations).to.deep.equal({ low: m.logs[0]!.generation, high: m.logs[m.logs.length - 1]!.generation });
    expect(r.databases).to.have.length(1);
    expect(r.databases[0]!.pagesVerified).to.be.greaterThan(0);
    expect(r.databases[0]!.pagesVerified + r.databases[0]!.pagesUninitialized).to.equal(m.databases[0]!.pages);
  });

  it('an atomic backup directory is verified through its new/ set', async () => {
    const { inst } = await loadedSource(200);
    const b = await tmpDir('verify-atomic-');
    await inst.backup(b, JET_bitBackupAtomic, undefined, { pool });
    await inst.close();
    const r = await verify(b, { pool });
    expect(show(r)).to.deep.equal([]);
    expect(r.setDir).to.equal(path.join(b, 'new'));
  });

  it('a deleted generation is named: JET_errMissingRestoreLogFiles with its generation', async () => {
    const s = await copySet(set);
    const { generation, name } = middleLog(m);
    await unlink(path.join(s, name));
    expectProblem(await verify(s, { pool }), { fileName: name, generation, errName: 'JET_errMissingRestoreLogFiles' });
  });

  it('a generation from another instance is named: bad signature and CRC32C at it, and the next one no longer follows', async () => {
    const s = await copySet(set);
    const { generation, name } = middleLog(m);
    await copyFile(path.join(other, name), path.join(s, name));
    const r = await verify(s, { pool });
    expectProblem(r, { fileName: name, generation, errName: 'JET_errGivenLogFileHasBadSignature' });
    expectProblem(r, { fileName: name, generation, errName: 'JET_errLogReadVerifyFailure' });
    expectProblem(r, { fileName: m.logs.find((l) => l.generation === generation + 1)!.name, generation: generation + 1, errName: 'JET_errGivenLogFileIsNotContiguous' });
  });

  it('generations swapped by renaming are named: each holds the other\'s number (JET_errGivenLogFileIsNotContiguous)', async () => {
    const s = await copySet(set);
    const { generation: g } = middleLog(m);
    const [a, b] = [g, g + 1].map((x) => path.join(s, m.logs.find((l) => l.generation === x)!.name)) as [string, string];
    await rename(a, `${a}.x`);
    await rename(b, a);
    await rename(`${a}.x`, b);
    const r = await verify(s, { pool });
    expect(expectProblem(r, { fileName: path.basename(a), generation: g, errName: 'JET_errGivenLogFileIsNotContiguous' }).what).to.include(`holds generation ${g + 1}`);
    expect(expectProblem(r, { fileName: path.basename(b), generation: g + 1, errName: 'JET_errGivenLogFileIsNotContiguous' }).what).to.include(`holds generation ${g}`);
  });

  it('a database copy from another instance is named: JET_errBadDbSignature', async () => {
    const s = await copySet(set);
    await copyFile(path.join(other, 'main.edb'), path.join(s, 'main.edb'));
    expectProblem(await verify(s, { pool }), { fileName: 'main.edb', errName: 'JET_errBadDbSignature' });
  });

  it('a database copy from an older backup of the same instance is named: JET_errDatabasePatchFileMismatch, and its pages differ from the range CRC32C the backup recorded', async () => {
    const s = await copySet(set);
    await copyFile(path.join(olds[0]!, 'main.edb'), path.join(s, 'main.edb'));
    const r = await verify(s, { pool });
    expectProblem(r, { fileName: 'main.edb', errName: 'JET_errDatabasePatchFileMismatch' });
    expect(expectProblem(r, { fileName: 'main.edb', page: 1, errName: 'JET_errReadVerifyFailure' }).what).to.include('differ from the copy the backup made');
  });

  it('a missing database copy is named: JET_errFileNotFound on main.edb', async () => {
    const s = await copySet(set);
    await unlink(path.join(s, 'main.edb'));
    expectProblem(await verify(s, { pool }), { fileName: 'main.edb', errName: 'JET_errFileNotFound' });
  });

  it('a flipped byte in a data page is named with its page number', async () => {
    const s = await copySet(set);
    const file = path.join(s, 'main.edb');
    const pgno = await usedPage(file, PAGE);
    await flipPageByte(file, pgno, PAGE);
    const r = await verify(s, { pool });
    expectProblem(r, { fileName: 'main.edb', page: pgno, errName: 'JET_errReadVerifyFailure' });
    expect(r.problems.filter((p) => p.page !== pgno), 'only that page is reported').to.deep.equal([]);
  });

  it('flipped bytes in two pages are both named, not only the first bad page', async () => {
    const s = await copySet(set);
    const file = path.join(s, 'main.edb');
    const a = await usedPage(file, PAGE);
    const b = m.databases[0]!.pages; // the last page
    await flipPageByte(file, a, PAGE);
    await flipPageByte(file, b, PAGE);
    const r = await verify(s, { pool });
    expectProblem(r, { fileName: 'main.edb', page: a, errName: 'JET_errReadVerifyFailure' });
    expectProblem(r, { fileName: 'main.edb', page: b, errName: 'JET_errReadVerifyFailure' });
  });

  it('a flipped byte in a log record is named with its generation (JET_errLogReadVerifyFailure)', async () => {
    const s = await copySet(set);
    const { generation, name } = middleLog(m);
    await flipLogRecordByte(path.join(s, name));
    const r = await verify(s, { pool });
    const probs = r.problems.filter((p) => p.generation === generation && p.errName === 'JET_errLogReadVerifyFailure');
    expect(probs.map((p) => p.what).join(' | ')).to.include('record checksum mismatch');
    expect(r.problems.filter((p) => p.generation !== generation), show(r).join('\n')).to.deep.equal([]);
  });

  it('a truncated database copy is named with its size, and the pages past its end are reported missing', async () => {
    const s = await copySet(set);
    await truncate(path.join(s, 'main.edb'), 20 * PAGE);
    const r = await verify(s, { pool });
    expect(expectProblem(r, { fileName: 'main.edb', errName: 'JET_errReadVerifyFailure' }).what).to.include(`is ${20 * PAGE} bytes`);
    // 20 pages of file = the two header pages and data pages 1..18
    expect(expectProblem(r, { fileName: 'main.edb', page: 19, errName: 'JET_errReadVerifyFailure' }).what).to.include('missing');
    expect(r.problems.filter((p) => p.page !== undefined && p.page <= 18), 'pages still in the file').to.deep.equal([]);
  });

  it('a bad page and a bad log at once: both are listed, not only the first', async () => {
    const s = await copySet(set);
    const file = path.join(s, 'main.edb');
    const pgno = await usedPage(file, PAGE);
    await flipPageByte(file, pgno, PAGE);
    const { generation, name } = middleLog(m);
    await flipLogRecordByte(path.join(s, name));
    const r = await verify(s, { pool });
    expectProblem(r, { fileName: 'main.edb', page: pgno, errName: 'JET_errReadVerifyFailure' });
    expectProblem(r, { fileName: name, generation, errName: 'JET_errLogReadVerifyFailure' });
  });

  it('a half-written manifest is named: JET_errPatchFileMissing on esebackup.manifest', async () => {
    const s = await copySet(set);
    const file = path.join(s, MANIFEST_NAME);
    const buf = await readFile(file);
    await writeFile(file, buf.subarray(0, buf.length - 40));
    expectProblem(await verify(s, { pool }), { fileName: MANIFEST_NAME, errName: 'JET_errPatchFileMissing' });
  });

  it('a backup set whose manifest was deleted is not ok: the missing manifest is named (JET_errPatchFileMissing)', async () => {
    const s = await copySet(set);
    await unlink(path.join(s, MANIFEST_NAME));
    const r = await verify(s, { pool });
    expect(r.ok, `verify of a set without its manifest (kind ${r.kind}): ${JSON.stringify(show(r))}`).to.equal(false);
    expect(r.problems.map((p) => p.errName)).to.include('JET_errPatchFileMissing');
  });

  it('an empty directory is not ok: JET_errPatchFileMissing', async () => {
    const d = await tmpDir('verify-empty-');
    const r = await verify(d, { pool });
    expect(r.ok).to.equal(false);
    expect(r.problems.map((p) => p.errName)).to.deep.equal(['JET_errPatchFileMissing']);
  });

  it('a directory that does not exist: JET_errInvalidPath thrown', async () => {
    await expectJetError(verify(path.join(await tmpDir('verify-none-'), 'nope'), { pool }), 'JET_errInvalidPath');
  });

  it('an instance directory nobody has open is verified as an instance: ok, every database page and generation checked', async () => {
    const { dir, inst, db, c } = await loadedSource(ROWS);
    await commitMany(db, c, 100);
    await inst.close();
    const r = await verify(dir, { pool });
    expect(show(r)).to.deep.equal([]);
    expect(r.kind).to.equal('instance');
    expect(r.ok).to.equal(true);
    expect(r.databases.map((d) => path.basename(d.file))).to.deep.equal(['main.edb']);
    expect(r.databases[0]!.pagesVerified).to.be.greaterThan(0);
    expect(r.generations!.high).to.be.greaterThan(r.generations!.low);
    // verify held the lock only while it ran
    track(await Instance.open(dir, SMALL));
  });

  it('a restored instance directory verifies clean', async () => {
    const dest = path.join(await tmpDir('verify-restored-'), 'inst');
    await restore(set, dest, { createPathIfNotExist: true, pool });
    const r = await verify(dest, { pool });
    expect(show(r)).to.deep.equal([]);
    expect(r.kind).to.equal('instance');
  });

  it('an instance directory with a corrupt page: the page is named', async () => {
    const { dir, inst } = await loadedSource(ROWS);
    await inst.close();
    const file = path.join(dir, 'main.edb');
    const pgno = await usedPage(file, PAGE);
    await flipPageByte(file, pgno, PAGE);
    const r = await verify(dir, { pool });
    expect(r.kind).to.equal('instance');
    expectProblem(r, { fileName: 'main.edb', page: pgno, errName: 'JET_errReadVerifyFailure' });
  });

  it('an instance directory with a corrupt log record: the generation is named', async () => {
    const { dir, inst, db, c } = await loadedSource(ROWS);
    await commitMany(db, c, 50);
    await inst.close();
    const r0 = await verify(dir, { pool });
    const g = r0.generations!.low;
    const name = `edb${g.toString(16).toUpperCase().padStart(8, '0')}.log`;
    await flipLogRecordByte(path.join(dir, name));
    expectProblem(await verify(dir, { pool }), { fileName: name, generation: g, errName: 'JET_errLogReadVerifyFailure' });
  });

  it('an instance directory with a generation deleted from the middle: the gap is named at the generation after it', async () => {
    const { dir, inst, db, c } = await loadedSource(ROWS);
    await commitMany(db, c, 50);
    await inst.close();
    const { generations } = await verify(dir, { pool });
    expect(generations!.high - generations!.low, 'at least three generations').to.be.at.least(2);
    const g = generations!.low + 1;
    const name = (x: number) => `edb${x.toString(16).toUpperCase().padStart(8, '0')}.log`;
    await unlink(path.join(dir, name(g)));
    const p = expectProblem(await verify(dir, { pool }), { fileName: name(g + 1), generation: g + 1, errName: 'JET_errGivenLogFileIsNotContiguous' });
    expect(p.what).to.include(`generation ${g - 1}`);
  });

  it('an instance directory with a damaged checkpoint file: JET_errCheckpointCorrupt on edb.chk', async () => {
    const { dir, inst } = await loadedSource(100);
    await inst.close();
    await writeFile(path.join(dir, 'edb.chk'), Buffer.alloc(4096, 0x5a));
    expectProblem(await verify(dir, { pool }), { fileName: 'edb.chk', errName: 'JET_errCheckpointCorrupt' });
  });

  it('a directory an open instance holds: JET_errFileAccessDenied thrown, and the instance goes on', async () => {
    const { dir, db } = await loadedSource(100);
    await expectJetError(verify(dir, { pool }), 'JET_errFileAccessDenied');
    await db.put('t', 'after', 'verify');
    expect((await db.get('t', 'after'))?.toString()).to.equal('verify');
  });

  it('a verify without a pool makes its own and gives the same answer', async () => {
    const s = await copySet(set);
    await mkdir(path.join(s, 'unrelated-subdir'));
    const r = await verify(s);
    expect(show(r)).to.deep.equal([]);
  });
});
