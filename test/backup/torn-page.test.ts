/**
 * Torn pages in the source: a page caught half-written when the backup reads
 * it fails verification; the backup re-reads it with back-off, and a page
 * that is rewritten whole meanwhile is copied in its good state. A page that
 * stays bad fails the backup with JET_errReadVerifyFailure naming file and
 * page, and leaves nothing behind.
 */
import { expect } from 'chai';
import { open, readFile, readdir } from 'node:fs/promises';
import * as path from 'node:path';
import { BackupPool } from '../../src/backup/pool.js';
import { JET_sntBegin } from '../../src/backup/options.js';
import type { Database } from '../../src/engine/database.js';
import { Instance } from '../../src/engine/instance.js';
import { BKINFO_NONE } from '../../src/format/db-header.js';
import { PAGE_HEADER_SIZE, checkPage, pageOffset, sealPage } from '../../src/format/page.js';
import { patterned } from '../helpers/bytes.js';
import { expectJetError } from '../helpers/engine.js';
import { BACKUP_PARAMS, Counter, preload } from '../fixtures/backup-model.js';
import { archivedGenerations, commitMany, removeTmpDirs, restoreAndCheck, tmpDir } from './online-helpers.js';

const PRELOAD = 600;
const PAGE = BACKUP_PARAMS.pageSize;
/** The page torn on disk: a data page in the first range the backup copies. */
const TORN_PGNO = 5;

async function writeAt(file: string, bytes: Buffer, at: number): Promise<void> {
  const fh = await open(file, 'r+');
  try {
    await fh.write(bytes, 0, bytes.length, at);
    await fh.datasync();
  } finally {
    await fh.close();
  }
}

/**
 * An instance whose main.edb is preloaded, written and checkpointed (its
 * pages on disk), with page TORN_PGNO then torn on disk: the first half of
 * a newer image of the page, the second half of the old one. Resolves to
 * the good bytes to put back.
 */
async function tornSource(): Promise<{ inst: Instance; db: Database; c: Counter; file: string; good: Buffer }> {
  const inst = await Instance.open(await tmpDir('torn-src-'), BACKUP_PARAMS);
  try {
    const db = await inst.openDatabase('main.edb', { create: true });
    await preload([db], PRELOAD);
    const c = new Counter();
    await commitMany(inst, [db], c, 40, PRELOAD);
    await inst.checkpoint();
    const file = db.path;
    const good = (await readFile(file)).subarray(pageOffset(TORN_PGNO, PAGE), pageOffset(TORN_PGNO + 1, PAGE));
    expect(checkPage(good, TORN_PGNO), 'the page is written and sound before it is torn').to.deep.equal({ ok: true, initialized: true });
    const newer = Buffer.from(good);
    patterned(PAGE - PAGE_HEADER_SIZE, 4242).copy(newer, PAGE_HEADER_SIZE); // a rewrite of the whole body
    sealPage(newer);
    const torn = Buffer.concat([newer.subarray(0, PAGE / 2), good.subarray(PAGE / 2)]);
    expect(checkPage(torn, TORN_PGNO).ok, 'the torn image fails verification').to.equal(false);
    await writeAt(file, torn, pageOffset(TORN_PGNO, PAGE));
    return { inst, db, c, file, good };
  } catch (e) {
    await inst.close();
    throw e;
  }
}

describe('backup: torn pages', function () {
  this.timeout(60_000);
  afterEach(removeTmpDirs);

  it('a page torn when the backup reads it and rewritten whole ~120 ms later is re-read until it verifies: the backup succeeds, counts the re-read, and restores equal to the source', async () => {
    const { inst, c, file, good } = await tornSource();
    // A warm pool: its workers are up, so the first read of the page comes well before the rewrite.
    const pool = new BackupPool({ workers: 2 });
    try {
      const warm = { src: file, dst: null, pageSize: PAGE, firstPage: 1, pageCount: 1, retries: 0, retryDelayMs: 0 };
      await Promise.all([pool.copyRange(warm), pool.copyRange(warm)]);
      const bdir = await tmpDir('torn-bk-');
      let rewrite: Promise<void> | undefined;
      const result = await inst.backup(bdir, 0, (_snp, snt) => {
        if (snt === JET_sntBegin) {
          rewrite = new Promise((resolve, reject) => setTimeout(() => writeAt(file, good, pageOffset(TORN_PGNO, PAGE)).then(resolve, reject), 120));
        }
      }, { retries: 16, retryDelayMs: 50, pool });
      expect(rewrite, 'the page was put back during the backup').to.not.equal(undefined);
      await rewrite;
      expect(result.pagesReread, 'pages that verified only when read again').to.be.at.least(1);
      // The copy holds the page as rewritten, not as torn.
      const copied = (await readFile(path.join(bdir, 'main.edb'))).subarray(pageOffset(TORN_PGNO, PAGE), pageOffset(TORN_PGNO + 1, PAGE));
      expect(copied.equals(good), 'the backup copy of the torn page').to.equal(true);
      const { restored } = await restoreAndCheck(bdir, { dbNames: ['main.edb'], preloadRows: PRELOAD, min: c.begun, max: c.begun, params: BACKUP_PARAMS }, 'after a torn page');
      // Page for page, the restored database equals the source.
      const [src, dst] = [await readFile(file), await readFile(path.join(restored.destDir, 'main.edb'))];
      const pages = src.length / PAGE - 2;
      expect(pages).to.be.above(TORN_PGNO);
      for (let pgno = 1; pgno <= pages; pgno++) {
        const [a, b] = [pageOffset(pgno, PAGE), pageOffset(pgno + 1, PAGE)];
        if (!src.subarray(a, b).equals(dst.subarray(a, b))) expect.fail(`restored page ${pgno} differs from the source`);
      }
    } finally {
      await pool.close();
      await inst.close();
    }
  });

  it('a page that stays torn fails the backup with JET_errReadVerifyFailure naming file and page, leaving the destination empty, the logs and headers untouched', async () => {
    const { inst, db, file, good } = await tornSource();
    try {
      const bdir = await tmpDir('torn-bad-bk-');
      const logsBefore = await archivedGenerations(inst.params.logFilePath);
      const e = await expectJetError(inst.backup(bdir, 0, undefined, { retries: 3, retryDelayMs: 10 }), 'JET_errReadVerifyFailure');
      expect(e.message).to.include(file);
      expect(e.message).to.match(new RegExp(`page ${TORN_PGNO}\\b`));
      expect(await readdir(bdir), 'the destination after the failure').to.deep.equal([]);
      expect(await archivedGenerations(inst.params.logFilePath), 'no log generation deleted').to.deep.equal(logsBefore);
      expect(db.file.header.bkinfoFullPrev, 'no backup recorded in the header').to.deep.equal(BKINFO_NONE);
      await writeAt(file, good, pageOffset(TORN_PGNO, PAGE));
    } finally {
      await inst.close();
    }
  });
});
