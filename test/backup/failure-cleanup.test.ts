/**
 * A backup that fails part-way leaves nothing behind: no files in the
 * destination (atomic: the previous set untouched in <dir>/new and still
 * restorable), no log generation deleted, no database header changed.
 * Failures forced here: a corrupt page or log record, injected I/O faults,
 * an AbortSignal, and a status callback that throws.
 */
import { expect } from 'chai';
import { open, readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { JET_bitBackupAtomic, JET_bitBackupIncremental, JET_sntFail, JET_sntProgress } from '../../src/backup/options.js';
import type { Instance } from '../../src/engine/instance.js';
import { JetError } from '../../src/errors.js';
import { LOG_HEADER_BLOCK } from '../../src/format/log-header.js';
import { archivedLogName } from '../../src/format/log-names.js';
import { RECORD_HEADER_SIZE } from '../../src/format/log-record.js';
import { pageOffset } from '../../src/format/page.js';
import { FaultyFileSystem } from '../../src/io/fault-injection.js';
import { nodeFileSystem } from '../../src/io/file-system.js';
import { flipByte } from '../helpers/bytes.js';
import { expectJetError, growPages } from '../helpers/engine.js';
import { removeTmpDirs, tmpDir } from '../helpers/tmp-dir.js';
import {
  closeOpened, expectSourceUntouched, fill, fingerprint, listTree, openInstance, restoredRows, rowsOf, sourceState,
} from './failure-helpers.js';

/** Flip one byte at `at` of a file on disk. */
async function flipOnDisk(file: string, at: number): Promise<void> {
  const fh = await open(file, 'r+');
  try {
    const b = Buffer.alloc(1);
    await fh.read(b, 0, 1, at);
    flipByte(b, 0);
    await fh.write(b, 0, 1, at);
    await fh.datasync();
  } finally {
    await fh.close();
  }
}

/** An atomic set in a fresh directory, and the rows it holds. */
async function previousAtomicSet(inst: Instance): Promise<{ bk: string; rows: string[]; fp: string[] }> {
  const bk = await tmpDir('backup-atomic-');
  await inst.backup(bk, JET_bitBackupAtomic);
  const rows = await rowsOf(inst.databases()[0]!);
  return { bk, rows, fp: await fingerprint(bk) };
}

/** The previous atomic set is exactly where it was, alone, and restores to its rows. */
async function expectPreviousSetIntact(prev: { bk: string; rows: string[]; fp: string[] }): Promise<void> {
  expect(await fingerprint(prev.bk), 'the previous atomic set').to.deep.equal(prev.fp);
  expect(await restoredRows(prev.bk)).to.deep.equal(prev.rows);
}

const under = (dir: string) => (p: string) => p.startsWith(dir + path.sep);

/** An atomic backup whose rename of <dir>/`from` fails with EIO leaves the source and the previous set in <dir>/new as they were. */
async function expectAtomicRenameFailureHarmless(from: 'new' | 'temp'): Promise<void> {
  const io = new FaultyFileSystem(nodeFileSystem);
  const { inst, db } = await openInstance({ io });
  await fill(db, 150);
  const prev = await previousAtomicSet(inst);
  await fill(db, 50, 'later');
  const before = await sourceState(inst);
  io.fail({ op: 'rename', path: (p) => p === path.join(prev.bk, from), code: 'EIO' });
  await expectJetError(inst.backup(prev.bk, JET_bitBackupAtomic), 'JET_errDiskIO');
  await expectSourceUntouched(inst, before);
  await expectPreviousSetIntact(prev);
}

/** An instance on a FaultyFileSystem with 100 rows, a full backup of them in a fresh directory, and the rows it holds. */
async function instanceWithFullBackup() {
  const io = new FaultyFileSystem(nodeFileSystem);
  const { inst, db } = await openInstance({ io });
  await fill(db, 100);
  const bk = await tmpDir();
  await inst.backup(bk, 0);
  return { io, inst, db, bk, atFull: await rowsOf(db) };
}

describe('backup: cleanup after a failure', function () {
  this.timeout(30_000);
  afterEach(async () => {
    await closeOpened();
    await removeTmpDirs();
  });

  describe('verification failures', () => {
    it('a corrupt data page fails a full backup with JET_errReadVerifyFailure naming the file and page, and leaves nothing', async () => {
      const { dir, inst, db } = await openInstance();
      await fill(db, 300);
      await inst.checkpoint(); // the pages are on disk now
      expect(db.pageCount).to.be.greaterThan(3);
      await flipOnDisk(path.join(dir, 'main.edb'), pageOffset(3, 4096) + 100);
      const before = await sourceState(inst);
      const bk = await tmpDir();
      const e = await expectJetError(inst.backup(bk, 0, undefined, { retries: 2, retryDelayMs: 1 }), 'JET_errReadVerifyFailure');
      expect(e.err).to.equal(-1018);
      expect(e.message).to.include(path.join(dir, 'main.edb'));
      expect(e.message).to.match(/page 3\b/);
      expect(await listTree(bk)).to.deep.equal([]);
      await expectSourceUntouched(inst, before);
      // The live data is fine (the cache holds the page); only the disk image is bad.
      expect(await rowsOf(db)).to.have.length(300);
    });

    it('a corrupt data page fails an atomic backup and leaves the previous set in <dir>/new, restorable to its state', async () => {
      const { dir, inst, db } = await openInstance();
      await fill(db, 200);
      const prev = await previousAtomicSet(inst);
      await fill(db, 100, 'after');
      await inst.checkpoint();
      await flipOnDisk(path.join(dir, 'main.edb'), pageOffset(2, 4096) + 64);
      const before = await sourceState(inst);
      const e = await expectJetError(inst.backup(prev.bk, JET_bitBackupAtomic, undefined, { retries: 2, retryDelayMs: 1 }), 'JET_errReadVerifyFailure');
      expect(e.message).to.match(/main\.edb page 2\b/);
      expect((await listTree(prev.bk)).every((f) => f.startsWith('new/'))).to.equal(true);
      await expectSourceUntouched(inst, before);
      await expectPreviousSetIntact(prev);
    });

    it('a corrupt record in a finished generation a full backup needs fails it with JET_errLogReadVerifyFailure naming the generation', async () => {
      const { dir, inst, db } = await openInstance();
      await fill(db, 100);
      await inst.rollLog();
      await fill(db, 100, 'g2');
      await inst.rollLog();
      expect((await inst.getLogInfo()).checkpoint.gen, 'the backup must need generation 2').to.be.at.most(2);
      const log2 = path.join(dir, archivedLogName('edb', 2));
      expect((await readFile(log2)).readUInt32LE(LOG_HEADER_BLOCK + 4), 'generation 2 holds a record').to.be.greaterThan(0);
      await flipOnDisk(log2, LOG_HEADER_BLOCK + RECORD_HEADER_SIZE + 1);
      const before = await sourceState(inst);
      const bk = await tmpDir();
      const e = await expectJetError(inst.backup(bk, 0), 'JET_errLogReadVerifyFailure');
      expect(e.err).to.equal(-612);
      expect(e.message).to.match(/generation 2\b/);
      expect(await listTree(bk), 'database copies and logs copied before the bad one are removed').to.deep.equal([]);
      await expectSourceUntouched(inst, before);
    });

    it('a corrupt generation during an incremental backup removes the logs it had added and keeps the set restorable', async () => {
      const { dir, inst, db } = await openInstance();
      await fill(db, 100);
      const bk = await tmpDir();
      const full = await inst.backup(bk, 0);
      const atFull = await rowsOf(db);
      const fp = await fingerprint(bk);
      const h = full.generations!.high;
      await fill(db, 100, 'x');
      await inst.rollLog(); // h + 1
      await fill(db, 100, 'y');
      await inst.rollLog(); // h + 2: the corrupt one, copied after h + 1
      await flipOnDisk(path.join(dir, archivedLogName('edb', h + 2)), LOG_HEADER_BLOCK + RECORD_HEADER_SIZE + 2);
      const before = await sourceState(inst);
      const e = await expectJetError(inst.backup(bk, JET_bitBackupIncremental), 'JET_errLogReadVerifyFailure');
      expect(e.message).to.match(new RegExp(`generation ${h + 2}\\b`));
      expect(await fingerprint(bk)).to.deep.equal(fp);
      await expectSourceUntouched(inst, before);
      expect(await restoredRows(bk)).to.deep.equal(atFull);
    });
  });

  describe('injected I/O faults', () => {
    for (const atomic of [false, true]) {
      it(`ENOSPC writing the manifest fails a${atomic ? 'n atomic' : ' plain'} full backup with JET_errDiskFull and leaves ${atomic ? 'the previous set' : 'no files'}; the directory stays usable`, async () => {
        const io = new FaultyFileSystem(nodeFileSystem);
        const { inst, db } = await openInstance({ io });
        await fill(db, 150);
        const prev = atomic ? await previousAtomicSet(inst) : undefined;
        const bk = prev?.bk ?? await tmpDir();
        await fill(db, 50, 'later');
        const before = await sourceState(inst);
        io.fail({ op: 'write', path: (p) => p.endsWith('esebackup.manifest.tmp'), code: 'ENOSPC' });
        const e = await expectJetError(inst.backup(bk, atomic ? JET_bitBackupAtomic : 0), 'JET_errDiskFull');
        expect(e.err).to.equal(-1808);
        if (prev) await expectPreviousSetIntact(prev);
        else expect(await listTree(bk)).to.deep.equal([]);
        await expectSourceUntouched(inst, before);
        io.clear();
        await inst.backup(bk, atomic ? JET_bitBackupAtomic : 0);
        expect(await restoredRows(bk)).to.deep.equal(await rowsOf(db));
      });
    }

    it('EIO syncing a copied log in the destination fails a full backup with JET_errDiskIO and leaves no files', async () => {
      const io = new FaultyFileSystem(nodeFileSystem);
      const { inst, db } = await openInstance({ io });
      await fill(db, 150);
      await inst.rollLog();
      await fill(db, 50, 'z');
      const bk = await tmpDir();
      const before = await sourceState(inst);
      // Let the first copied log through, fail the second: both copies and the database copy must go.
      io.fail({ op: 'datasync', path: (p) => under(bk)(p) && p.endsWith('.log'), code: 'EIO', after: 1 });
      const e = await expectJetError(inst.backup(bk, 0), 'JET_errDiskIO');
      expect(e.message).to.include(bk);
      expect(await listTree(bk)).to.deep.equal([]);
      await expectSourceUntouched(inst, before);
    });

    it('EIO syncing a log an incremental backup adds leaves the set as it was, restorable', async () => {
      const { io, inst, db, bk, atFull } = await instanceWithFullBackup();
      const fp = await fingerprint(bk);
      await fill(db, 100, 'i');
      await inst.rollLog();
      await fill(db, 50, 'j');
      const before = await sourceState(inst);
      io.fail({ op: 'datasync', path: (p) => under(bk)(p) && p.endsWith('.log'), code: 'EIO', after: 1 });
      await expectJetError(inst.backup(bk, JET_bitBackupIncremental), 'JET_errDiskIO');
      expect(await fingerprint(bk)).to.deep.equal(fp);
      await expectSourceUntouched(inst, before);
      expect(await restoredRows(bk)).to.deep.equal(atFull);
    });

    it('atomic: a failed rename of new/ to old/ leaves the previous set in <dir>/new, restorable', async () => {
      await expectAtomicRenameFailureHarmless('new');
    });

    it('atomic: a failed rename of temp/ to new/ leaves the previous set in <dir>/new, restorable', async () => {
      await expectAtomicRenameFailureHarmless('temp');
    });

    it('plain full: a failed directory sync after the manifest is renamed into place leaves no manifest without its files', async () => {
      const io = new FaultyFileSystem(nodeFileSystem);
      const { inst, db } = await openInstance({ io });
      await fill(db, 150);
      const bk = await tmpDir();
      const before = await sourceState(inst);
      // The first sync of the directory is before the manifest, the second commits it.
      io.fail({ op: 'syncDir', path: (p) => p === bk, code: 'EIO', after: 1, times: 1 });
      await expectJetError(inst.backup(bk, 0), 'JET_errDiskIO');
      expect(await listTree(bk)).to.deep.equal([]);
      await expectSourceUntouched(inst, before);
    });

    it('incremental: a failed directory sync after the new manifest is renamed into place leaves a set that restores', async () => {
      const { io, inst, db, bk, atFull } = await instanceWithFullBackup();
      await fill(db, 100, 'i');
      const before = await sourceState(inst);
      io.fail({ op: 'syncDir', path: (p) => p === bk, code: 'EIO', after: 1, times: 1 });
      await expectJetError(inst.backup(bk, JET_bitBackupIncremental), 'JET_errDiskIO');
      await expectSourceUntouched(inst, before);
      // Whatever the manifest now says, the files it names must be there.
      expect(await restoredRows(bk)).to.deep.equal(atFull);
    });
  });

  describe('cancellation (AbortSignal)', () => {
    for (const withReason of [false, true]) {
      it(`an already-aborted signal${withReason ? ' with a reason' : ''} rejects with errBackupAbortByCaller (-800) at once${withReason ? ', carrying the reason,' : ''} and leaves nothing`, async () => {
        const { inst, db } = await openInstance();
        await growPages(inst, db, 300, false);
        await inst.checkpoint();
        const before = await sourceState(inst);
        for (const g of [0, JET_bitBackupAtomic]) {
          const bk = await tmpDir();
          const reason = new Error('operator cancelled');
          const ac = new AbortController();
          if (withReason) ac.abort(reason);
          else ac.abort();
          const t0 = performance.now();
          const e = await expectJetError(inst.backup(bk, g, undefined, { signal: ac.signal }), 'errBackupAbortByCaller');
          expect(performance.now() - t0).to.be.below(1000);
          expect(e.err).to.equal(-800);
          expect(e.cause).to.equal(ac.signal.reason);
          if (withReason) expect(e.cause).to.equal(reason);
          expect(await listTree(bk)).to.deep.equal([]);
          await expectSourceUntouched(inst, before);
        }
      });
    }

    it('aborting during a throttled page copy rejects with -800 promptly and leaves nothing', async () => {
      const { inst, db } = await openInstance({ logFileSize: 1024 * 1024 });
      await growPages(inst, db, 768, false); // 3 MiB of pages
      await inst.checkpoint();
      const bytes = (db.file.pagesOnDisk + 2) * 4096;
      const rate = 1024 * 1024;
      const before = await sourceState(inst);
      const bk = await tmpDir();
      const ac = new AbortController();
      const phases = new Set<string>();
      const t0 = performance.now();
      let abortedAt = 0;
      setTimeout(() => { abortedAt = performance.now(); ac.abort(); }, 100);
      const e = await expectJetError(inst.backup(bk, 0, (_snp, _snt, p) => { if (p?.phase) phases.add(p.phase); }, { signal: ac.signal, rateBytesPerSec: rate }), 'errBackupAbortByCaller');
      const done = performance.now();
      expect(e.err).to.equal(-800);
      expect(abortedAt, 'aborted before the backup ended').to.be.greaterThan(0);
      expect(done - abortedAt, 'ms from abort() to rejection').to.be.below(750);
      expect(done - t0, 'well under the throttled copy time').to.be.below((bytes / rate) * 1000 / 2);
      expect([...phases]).to.not.include('logs');
      expect(await listTree(bk)).to.deep.equal([]);
      await expectSourceUntouched(inst, before);
    });
  });

  describe('a status callback that throws', () => {
    it('fails the backup with JET_errCallbackFailed (-1750) carrying the thrown error, cleans up, and is then told Fail only', async () => {
      const { inst, db } = await openInstance();
      await fill(db, 300);
      await inst.checkpoint();
      const before = await sourceState(inst);
      const bk = await tmpDir();
      const boom = new Error('progress display crashed');
      const after: number[] = [];
      let thrown = false;
      const e = await expectJetError(inst.backup(bk, 0, (_snp, snt) => {
        if (thrown) { after.push(snt); return; }
        if (snt === JET_sntProgress) { thrown = true; throw boom; }
      }), 'JET_errCallbackFailed');
      expect(e.err).to.equal(-1750);
      expect(e.cause).to.equal(boom);
      expect(e.message).to.include('progress display crashed');
      expect(after).to.deep.equal([JET_sntFail]);
      expect(await listTree(bk)).to.deep.equal([]);
      await expectSourceUntouched(inst, before);
    });

    it('a callback throwing a JetError fails the backup with that JetError, and an atomic previous set stays', async () => {
      const { inst, db } = await openInstance();
      await fill(db, 200);
      const prev = await previousAtomicSet(inst);
      await fill(db, 50, 'later');
      await inst.checkpoint();
      const before = await sourceState(inst);
      const mine = new JetError('JET_errOutOfMemory', 'the caller ran out of memory');
      const e = await expectJetError(inst.backup(prev.bk, JET_bitBackupAtomic, (_snp, snt) => {
        if (snt === JET_sntProgress) throw mine;
      }), 'JET_errOutOfMemory');
      expect(e).to.equal(mine);
      await expectSourceUntouched(inst, before);
      await expectPreviousSetIntact(prev);
    });
  });
});
