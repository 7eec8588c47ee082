/**
 * JetBackup's errors, each forced and asserted: bad arguments, the
 * destination, the instance's state and incremental preconditions (the
 * seed's JetBackup form is in jet-backup-errors.test.ts). After every
 * refusal the destination holds nothing new, no log generation is gone and
 * the database headers are unchanged.
 */
import { expect } from 'chai';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { JetBackup } from '../../src/backup/jet-backup.js';
import { JET_bitBackupAtomic, JET_bitBackupIncremental } from '../../src/backup/options.js';
import type { Instance } from '../../src/engine/instance.js';
import type { JetErrName } from '../../src/errors.js';
import { FaultyFileSystem } from '../../src/io/fault-injection.js';
import { nodeFileSystem } from '../../src/io/file-system.js';
import { expectJetError, growPages } from '../helpers/engine.js';
import { removeTmpDirs, tmpDir } from '../helpers/tmp-dir.js';
import {
  closeOpened, diskBkInfo, expectNoLogDeleted, expectSourceUntouched, fill, fingerprint, listTree, logFiles, openInstance,
  restoredRows, rowsOf, sourceState,
} from './failure-helpers.js';

type Call = (dir: string) => Promise<unknown>;

/** Run `call` into a fresh empty directory: it must fail with `name`, add nothing there, and leave logs and headers alone. */
async function refused(inst: Instance, call: Call, name: JetErrName): Promise<void> {
  const bk = await tmpDir('backup-dest-');
  const before = await sourceState(inst);
  const e = await expectJetError(call(bk), name);
  expect(e.message).to.not.equal('');
  expect(await listTree(bk), `destination after ${name}`).to.deep.equal([]);
  await expectSourceUntouched(inst, before);
}

describe('backup: errors', function () {
  this.timeout(30_000);
  afterEach(async () => {
    await closeOpened();
    await removeTmpDirs();
  });

  describe('arguments', () => {
    it('unknown grbit bits (0x2, 0x10, 0x100) are refused with JET_errInvalidGrbit', async () => {
      const { inst, db } = await openInstance();
      await fill(db, 50);
      for (const g of [0x2, 0x10, 0x100, 0x3]) await refused(inst, (d) => inst.backup(d, g), 'JET_errInvalidGrbit');
      // The same instance still backs up with a valid grbit afterwards.
      const ok = await tmpDir();
      expect((await inst.backup(ok, 0)).type).to.equal('full');
    });

    it('Atomic together with Incremental (0x5) is refused with JET_errInvalidGrbit, even after a full backup', async () => {
      const { inst, db } = await openInstance();
      await fill(db, 50);
      await refused(inst, (d) => inst.backup(d, JET_bitBackupAtomic | JET_bitBackupIncremental), 'JET_errInvalidGrbit');
      const bk = await tmpDir();
      await inst.backup(bk, 0);
      const set = await fingerprint(bk);
      await expectJetError(inst.backup(bk, 0x5), 'JET_errInvalidGrbit');
      expect(await fingerprint(bk)).to.deep.equal(set);
    });

    it('a negative, fractional, NaN or non-number grbit is refused with JET_errInvalidGrbit', async () => {
      const { inst, db } = await openInstance();
      await fill(db, 20);
      for (const g of [-1, -4, 0.5, 1.5, Number.NaN, '0' as unknown as number]) {
        await refused(inst, (d) => inst.backup(d, g), 'JET_errInvalidGrbit');
      }
    });

    it('a grbit with a bit above bit 31 (2**32, 2**32 + 1) is refused with JET_errInvalidGrbit, not run as a full or incremental backup', async () => {
      const { inst, db } = await openInstance();
      await fill(db, 20);
      await refused(inst, (d) => inst.backup(d, 2 ** 32), 'JET_errInvalidGrbit');
      await refused(inst, (d) => inst.backup(d, 2 ** 32 + 1), 'JET_errInvalidGrbit');
    });

    it("a backup path that is '', a number or an object is refused with JET_errInvalidParameter", async () => {
      const { inst, db } = await openInstance();
      await fill(db, 20);
      for (const bad of ['', 42, {}, undefined]) {
        await refused(inst, () => inst.backup(bad as string, 0), 'JET_errInvalidParameter');
      }
    });

    it('a status callback that is not a function is refused with JET_errInvalidParameter', async () => {
      const { inst, db } = await openInstance();
      await fill(db, 20);
      for (const bad of ['status', 42, {}]) {
        await refused(inst, (d) => inst.backup(d, 0, bad as never), 'JET_errInvalidParameter');
      }
    });

    it('an unknown option key or an out-of-range option value is refused with JET_errInvalidParameter', async () => {
      const { inst, db } = await openInstance();
      await fill(db, 20);
      const bad: unknown[] = [
        { worker: 2 }, { workers: 0 }, { workers: 1.5 }, { rangePages: 0 }, { retries: -1 }, { retryDelayMs: -5 },
        { rateBytesPerSec: -1 }, { signal: 'stop' }, 'options',
      ];
      for (const o of bad) await refused(inst, (d) => inst.backup(d, 0, undefined, o as never), 'JET_errInvalidParameter');
    });
  });

  describe('the destination', () => {
    it('a missing destination is refused with JET_errInvalidPath and is not created', async () => {
      const { inst, db } = await openInstance();
      await fill(db, 20);
      const parent = await tmpDir();
      const missing = path.join(parent, 'nope');
      for (const g of [0, JET_bitBackupAtomic, JET_bitBackupIncremental]) {
        if (g === JET_bitBackupIncremental) await inst.backup(await tmpDir(), 0); // so that the incremental reaches the path check
        const before = await sourceState(inst);
        await expectJetError(inst.backup(missing, g), 'JET_errInvalidPath');
        expect(await readdir(parent)).to.deep.equal([]);
        await expectSourceUntouched(inst, before);
      }
    });

    it('a destination that is a regular file is refused with JET_errInvalidPath and the file is untouched', async () => {
      const { inst, db } = await openInstance({ createPathIfNotExist: true });
      await fill(db, 20);
      const file = path.join(await tmpDir(), 'file');
      await writeFile(file, 'not a directory');
      await refused(inst, () => inst.backup(file, 0), 'JET_errInvalidPath');
      expect(await readFile(file, 'utf8')).to.equal('not a directory');
    });

    it('with createPathIfNotExist a missing destination is created and the backup restores', async () => {
      const { inst, db } = await openInstance({ createPathIfNotExist: true });
      await fill(db, 100);
      const bk = path.join(await tmpDir(), 'made', 'here');
      const r = await inst.backup(bk, 0);
      expect(r.path).to.equal(bk);
      expect(await listTree(bk)).to.include('esebackup.manifest');
      expect(await restoredRows(bk)).to.deep.equal(await rowsOf(db));
    });

    it('with createPathIfNotExist a failing backup removes the destination directory it created', async () => {
      const { inst, db } = await openInstance({ createPathIfNotExist: true });
      await fill(db, 50);
      const parent = await tmpDir();
      for (const g of [0, JET_bitBackupAtomic]) {
        const before = await sourceState(inst);
        const boom = () => { throw new Error('no'); };
        await expectJetError(inst.backup(path.join(parent, `dest-${g}`), g, boom), 'JET_errCallbackFailed');
        expect(await readdir(parent), `grbit ${g}`).to.deep.equal([]);
        await expectSourceUntouched(inst, before);
      }
    });

    it('with createPathIfNotExist a failing backup into a missing nested path removes every directory it created', async () => {
      const { inst, db } = await openInstance({ createPathIfNotExist: true });
      await fill(db, 50);
      const parent = await tmpDir();
      const boom = () => { throw new Error('no'); };
      await expectJetError(inst.backup(path.join(parent, 'a', 'b', 'c'), 0, boom), 'JET_errCallbackFailed');
      expect(await listTree(parent)).to.deep.equal([]);
    });

    it('a non-atomic full backup into a directory with a stray file is JET_errBackupDirectoryNotEmpty and the file is untouched', async () => {
      const { inst, db } = await openInstance();
      await fill(db, 50);
      const bk = await tmpDir();
      await writeFile(path.join(bk, 'stray.txt'), 'mine');
      const before = await sourceState(inst);
      const fp = await fingerprint(bk);
      const e = await expectJetError(inst.backup(bk, 0), 'JET_errBackupDirectoryNotEmpty');
      expect(e.err).to.equal(-504);
      expect(e.message).to.include('stray.txt');
      expect(await fingerprint(bk)).to.deep.equal(fp);
      expect(await readFile(path.join(bk, 'stray.txt'), 'utf8')).to.equal('mine');
      await expectSourceUntouched(inst, before);
    });

    it('a second non-atomic full backup into the same directory is JET_errBackupDirectoryNotEmpty and the first set still restores', async () => {
      const { inst, db } = await openInstance();
      await fill(db, 100);
      const bk = await tmpDir();
      await inst.backup(bk, 0);
      const first = await rowsOf(db);
      await fill(db, 30, 'later');
      const fp = await fingerprint(bk);
      const before = await sourceState(inst);
      await expectJetError(inst.backup(bk, 0), 'JET_errBackupDirectoryNotEmpty');
      expect(await fingerprint(bk)).to.deep.equal(fp);
      await expectSourceUntouched(inst, before);
      expect(await restoredRows(bk)).to.deep.equal(first);
    });
  });

  describe('the instance state', () => {
    it('of two backups started at once, the second is JET_errBackupInProgress and the first succeeds', async () => {
      const { inst, db } = await openInstance();
      await fill(db, 100);
      const [a, b, c] = [await tmpDir(), await tmpDir(), await tmpDir()];
      const first = inst.backup(a, 0, undefined, { rateBytesPerSec: 512 * 1024 });
      const second = inst.backup(b, JET_bitBackupAtomic);
      const [r1, r2] = await Promise.allSettled([first, second]);
      expect(r1.status, String((r1 as PromiseRejectedResult).reason)).to.equal('fulfilled');
      expect(r2.status).to.equal('rejected');
      expect((r2 as PromiseRejectedResult).reason.errName).to.equal('JET_errBackupInProgress');
      expect(await listTree(b)).to.deep.equal([]);
      expect(await listTree(a)).to.include('esebackup.manifest');
      // The refused one did not release the first one's claim: while a slow backup runs, every other start is refused.
      const slow = inst.backup(c, 0, undefined, { rateBytesPerSec: 256 * 1024 });
      await expectJetError(inst.backup(b, 0), 'JET_errBackupInProgress');
      await expectJetError(inst.backup(null, 0), 'JET_errBackupInProgress');
      await expectJetError(inst.backup(b, 0), 'JET_errBackupInProgress');
      await slow;
      expect(await listTree(b)).to.deep.equal([]);
      // Once it is over, backups run again.
      expect((await inst.backup(b, 0)).type).to.equal('full');
    });

    it('a backup started after close() has begun is JET_errTermInProgress (and JetBackup says -1000)', async () => {
      const { inst, db } = await openInstance();
      await fill(db, 50);
      const before = await sourceState(inst);
      const bk = await tmpDir();
      const closing = inst.close();
      await expectJetError(inst.backup(bk, 0), 'JET_errTermInProgress');
      expect(await JetBackup(bk, 0)).to.equal(-1000);
      await closing;
      expect(await listTree(bk)).to.deep.equal([]);
      expectNoLogDeleted(before.logs, await logFiles(inst.params.dir));
    });

    it('close() during the page copy ends the backup with JET_errTermInProgress, leaving no files, logs or header change', async () => {
      const { dir, inst, db } = await openInstance();
      await growPages(inst, db, 600, false);
      await inst.checkpoint();
      const before = await sourceState(inst);
      const bk = await tmpDir();
      let closing: Promise<void> | undefined;
      const backup = inst.backup(bk, 0, (_snp, _snt, p) => {
        if (p?.phase === 'pages' && !closing) closing = inst.close();
      }, { rangePages: 16, rateBytesPerSec: 4 * 1024 * 1024 });
      await expectJetError(backup, 'JET_errTermInProgress');
      expect(closing, 'close() was called during the page copy').to.not.equal(undefined);
      await closing;
      expect(await listTree(bk)).to.deep.equal([]);
      expectNoLogDeleted(before.logs, await logFiles(dir));
      const h = await diskBkInfo(path.join(dir, 'main.edb'));
      expect({ name: 'main.edb', full: h.full, inc: h.inc }).to.deep.equal(before.headers[0]);
    });

    it('close() during the log copy: the backup either completes with a restorable set or fails leaving no files', async () => {
      const { dir, inst, db } = await openInstance();
      await fill(db, 150);
      await inst.rollLog();
      await fill(db, 150, 'j');
      const rows = await rowsOf(db);
      const before = await sourceState(inst);
      const bk = await tmpDir();
      let closing: Promise<void> | undefined;
      const outcome = await inst.backup(bk, 0, (_snp, _snt, p) => {
        if (p?.phase === 'logs' && !closing) closing = inst.close();
      }, { rateBytesPerSec: 512 * 1024 }).then((r) => ({ r, e: undefined }), (e: unknown) => ({ r: undefined, e }));
      expect(closing, 'close() was called during the log copy').to.not.equal(undefined);
      await closing;
      if (outcome.e) {
        const name = (outcome.e as { errName?: string }).errName;
        expect(await listTree(bk), `destination after the backup failed with ${String(outcome.e)}`).to.deep.equal([]);
        expect(['JET_errTermInProgress', 'JET_errNotInitialized'], String(outcome.e)).to.include(name);
        expectNoLogDeleted(before.logs, await logFiles(dir));
      } else {
        expect(await restoredRows(bk)).to.deep.equal(rows);
      }
    });

    it('after stopService() a backup is JET_errClientRequestToStopJetService', async () => {
      const { inst, db } = await openInstance();
      await fill(db, 50);
      inst.stopService();
      const e = await expectJetError(inst.backup(await tmpDir(), 0), 'JET_errClientRequestToStopJetService');
      expect(e.err).to.equal(-1329);
      await refused(inst, (d) => inst.backup(d, JET_bitBackupAtomic), 'JET_errClientRequestToStopJetService');
      await refused(inst, () => inst.backup(null, 0), 'JET_errClientRequestToStopJetService');
      await inst.close();
    });

    it('after close() a backup is JET_errNotInitialized', async () => {
      const { dir, inst, db } = await openInstance();
      await fill(db, 50);
      await inst.close();
      const logs = await logFiles(dir);
      const bk = await tmpDir();
      const e = await expectJetError(inst.backup(bk, 0), 'JET_errNotInitialized');
      expect(e.err).to.equal(-1029);
      await expectJetError(inst.backup(null, 0), 'JET_errNotInitialized');
      expect(await listTree(bk)).to.deep.equal([]);
      expect(await logFiles(dir)).to.deep.equal(logs);
    });

    it('an instance opened with recovery: false cannot be backed up: JET_errLoggingDisabled', async () => {
      const { inst, db } = await openInstance({ recovery: false });
      await fill(db, 20);
      for (const g of [0, JET_bitBackupAtomic, JET_bitBackupIncremental]) {
        const e = await expectJetError(inst.backup(await tmpDir(), g), 'JET_errLoggingDisabled');
        expect(e.err).to.equal(-516);
      }
      await refused(inst, (d) => inst.backup(d, 0), 'JET_errLoggingDisabled');
      await expectJetError(inst.backup(null, 0), 'JET_errLoggingDisabled');
    });

    it('an instance made unavailable by a failed log sync refuses backups with JET_errInstanceUnavailable', async () => {
      const io = new FaultyFileSystem(nodeFileSystem);
      const { dir, inst, db } = await openInstance({ io });
      await fill(db, 50);
      await db.put('t', 'sync', 'now'); // durable: everything before it is on disk
      const before = await sourceState(inst);
      io.fail({ op: 'datasync', path: (p) => path.dirname(p) === dir && /\.log/.test(path.basename(p)), code: 'EIO' });
      await expectJetError(db.put('t', 'lost', 'x'), 'JET_errLogWriteFail');
      expect(inst.state).to.equal('unavailable');
      for (const g of [0, JET_bitBackupAtomic]) await refused(inst, (d) => inst.backup(d, g), 'JET_errInstanceUnavailable');
      await expectJetError(inst.backup(null, 0), 'JET_errInstanceUnavailable');
      await expectSourceUntouched(inst, before);
    });
  });

  describe('incremental preconditions', () => {
    it('under circular logging an incremental backup is JET_errInvalidBackup, while a full backup works and restores', async () => {
      const { inst, db } = await openInstance({ circularLog: true });
      await fill(db, 150);
      await inst.checkpoint();
      await fill(db, 100, 'c');
      const bk = await tmpDir();
      await inst.backup(bk, JET_bitBackupAtomic);
      const rows = await rowsOf(db);
      const fp = await fingerprint(bk);
      const before = await sourceState(inst);
      const e = await expectJetError(inst.backup(bk, JET_bitBackupIncremental), 'JET_errInvalidBackup');
      expect(e.err).to.equal(-526);
      expect(await fingerprint(bk)).to.deep.equal(fp);
      await expectSourceUntouched(inst, before);
      await refused(inst, (d) => inst.backup(d, JET_bitBackupIncremental), 'JET_errInvalidBackup');
      expect(await restoredRows(bk)).to.deep.equal(rows);
    });

    it('an incremental backup with no full backup before it is JET_errMissingFullBackup (-560)', async () => {
      const { inst, db } = await openInstance();
      await fill(db, 100);
      await inst.rollLog();
      const bk = await tmpDir();
      const e = await expectJetError(inst.backup(bk, JET_bitBackupIncremental), 'JET_errMissingFullBackup');
      expect(e.err).to.equal(-560);
      await refused(inst, (d) => inst.backup(d, JET_bitBackupIncremental), 'JET_errMissingFullBackup');
    });

    it('an incremental backup into an empty directory after a full backup elsewhere is JET_errMissingFullBackup', async () => {
      const { inst, db } = await openInstance();
      await fill(db, 100);
      const full = await tmpDir();
      await inst.backup(full, 0);
      await fill(db, 50, 'i');
      const fp = await fingerprint(full);
      await refused(inst, (d) => inst.backup(d, JET_bitBackupIncremental), 'JET_errMissingFullBackup');
      expect(await fingerprint(full)).to.deep.equal(fp);
    });

    it('an incremental backup that needs a generation truncated since the full one is JET_errMissingFileToBackup naming it', async () => {
      const { inst, db } = await openInstance();
      await fill(db, 100);
      const bk = await tmpDir();
      const full = await inst.backup(bk, 0);
      const atFull = await rowsOf(db);
      const next = full.generations!.high + 1;
      await fill(db, 100, 'a');
      await inst.rollLog();
      await fill(db, 100, 'b');
      await inst.rollLog();
      await inst.checkpoint();
      const trunc = await inst.backup(null, 0);
      expect(trunc.truncated).to.include(next);
      const fp = await fingerprint(bk);
      const before = await sourceState(inst);
      const e = await expectJetError(inst.backup(bk, JET_bitBackupIncremental), 'JET_errMissingFileToBackup');
      expect(e.err).to.equal(-569);
      expect(e.message).to.match(new RegExp(`generation ${next}\\b`));
      expect(e.message).to.match(/full backup/);
      expect(await fingerprint(bk)).to.deep.equal(fp);
      await expectSourceUntouched(inst, before);
      expect(await restoredRows(bk)).to.deep.equal(atFull);
      // A new full backup is the way out.
      await inst.backup(bk, JET_bitBackupAtomic);
      expect(await restoredRows(bk)).to.deep.equal(await rowsOf(db));
    });
  });
});
