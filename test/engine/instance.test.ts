import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { Instance } from '../../src/engine/instance.js';
import { LOCK_NAME } from '../../src/engine/instance-lock.js';
import { expectJetError, growPages, readStamp, setPage, stamp } from '../helpers/engine.js';
import { removeTmpDirs, tmpDir } from '../helpers/tmp-dir.js';

describe('Instance', () => {
  afterEach(removeTmpDirs);

  describe('open and close', () => {
    it('creates the log, checkpoint and lock in a new directory, and keeps data across a clean reopen', async () => {
      const dir = await tmpDir();
      let inst = await Instance.open(dir);
      expect((await readdir(dir)).sort()).to.deep.equal(['edb.chk', 'edb.log', LOCK_NAME].sort());
      let db = await inst.openDatabase('main.edb', { create: true });
      await growPages(inst, db, 10);
      await setPage(inst, db, 3, 333);
      await inst.close();
      expect(existsSync(path.join(dir, LOCK_NAME))).to.equal(false);

      inst = await Instance.open(dir);
      db = await inst.openDatabase('main.edb');
      expect(db.pageCount).to.equal(10);
      expect(await readStamp(db, 3)).to.equal(333);
      expect(await readStamp(db, 10)).to.equal(10);
      // A clean shutdown leaves nothing to redo.
      expect(inst.recovery?.transactionsRedone).to.equal(0);
      await inst.close();
    });

    it('uses the base name for log and checkpoint files, and separate system and log directories', async () => {
      const dir = await tmpDir();
      const inst = await Instance.open(dir, { baseName: 'abc', systemPath: 'sys', logFilePath: 'logs', createPathIfNotExist: true });
      await inst.rollLog();
      await inst.close();
      expect(await readdir(path.join(dir, 'sys'))).to.deep.equal(['abc.chk']);
      expect((await readdir(path.join(dir, 'logs'))).sort()).to.deep.equal(['abc.log', 'abc00000001.log']);
    });

    it('refuses a missing directory with JET_errInvalidPath unless createPathIfNotExist is set', async () => {
      const dir = path.join(await tmpDir(), 'not', 'there');
      const e = await expectJetError(Instance.open(dir), 'JET_errInvalidPath');
      expect(e.message).to.include(dir);
      const inst = await Instance.open(dir, { createPathIfNotExist: true });
      await inst.close();
      expect(existsSync(path.join(dir, 'edb.log'))).to.equal(true);
    });

    it('rejects bad parameters with JET_errInvalidParameter and creates nothing', async () => {
      const dir = await tmpDir();
      await expectJetError(Instance.open(dir, { baseName: 'ed' }), 'JET_errInvalidParameter');
      await expectJetError(Instance.open(dir, { pageSize: 1000 }), 'JET_errInvalidParameter');
      await expectJetError(Instance.open(dir, { logFileSize: 32 * 1024 }), 'JET_errInvalidParameter');
      await expectJetError(Instance.open(dir, { logFileSize: 64 * 1024 * 1024 }), 'JET_errInvalidParameter');
      await expectJetError(Instance.open(dir, { circularLog: 'yes' as unknown as boolean }), 'JET_errInvalidParameter');
      await expectJetError(Instance.open(dir, { bogus: 1 } as never), 'JET_errInvalidParameter');
      await expectJetError(Instance.open(''), 'JET_errInvalidParameter');
      expect(await readdir(dir)).to.deep.equal([]);
    });
  });

  describe('databases', () => {
    it('refuses to open a missing database without create, and bad names', async () => {
      const inst = await Instance.open(await tmpDir());
      await expectJetError(inst.openDatabase('nope.edb'), 'JET_errFileNotFound');
      await expectJetError(inst.openDatabase('../escape.edb', { create: true }), 'JET_errInvalidParameter');
      await expectJetError(inst.openDatabase('/abs.edb', { create: true }), 'JET_errInvalidParameter');
      await expectJetError(inst.openDatabase('', { create: true }), 'JET_errInvalidParameter');
      await inst.close();
    });

    it('returns the same handle when a database is opened twice', async () => {
      const inst = await Instance.open(await tmpDir());
      const [a, b] = await Promise.all([inst.openDatabase('x.edb', { create: true }), inst.openDatabase('x.edb', { create: true })]);
      expect(a).to.equal(b);
      await inst.close();
    });

    it('refuses a database whose page size differs from the instance with JET_errPageSizeMismatch', async () => {
      const dir = await tmpDir();
      let inst = await Instance.open(dir, { pageSize: 4096 });
      await inst.openDatabase('small.edb', { create: true });
      await inst.close();
      inst = await Instance.open(dir, { pageSize: 8192 });
      await expectJetError(inst.openDatabase('small.edb'), 'JET_errPageSizeMismatch');
      await inst.close();
    });

    it('reads a page never written as zeros, marked not initialized', async () => {
      const inst = await Instance.open(await tmpDir());
      const db = await inst.openDatabase('main.edb', { create: true });
      const { page, initialized } = await db.readPage(99);
      expect(initialized).to.equal(false);
      expect(page.every((b) => b === 0)).to.equal(true);
      await inst.close();
    });
  });

  describe('transactions', () => {
    it('lets a transaction read its own writes and rolls everything back when it throws', async () => {
      const inst = await Instance.open(await tmpDir());
      const db = await inst.openDatabase('main.edb', { create: true });
      await growPages(inst, db, 2);
      const err = await inst.transaction(async (tx) => {
        stamp(await tx.writePage(db, 1), 111);
        expect((await tx.readPage(db, 1)).readUInt32LE(24)).to.equal(111);
        await tx.newPage(db);
        throw new Error('boom');
      }).catch((e: Error) => e);
      expect((err as Error).message).to.equal('boom');
      expect(await readStamp(db, 1)).to.equal(1);
      expect(db.pageCount).to.equal(2);
      // The writer slot was released: another transaction can run.
      await setPage(inst, db, 2, 222);
      expect(await readStamp(db, 2)).to.equal(222);
      await inst.close();
    });

    it('runs writers one at a time in the order they asked', async () => {
      const inst = await Instance.open(await tmpDir());
      const db = await inst.openDatabase('main.edb', { create: true });
      await growPages(inst, db, 1);
      const order: number[] = [];
      await Promise.all([1, 2, 3, 4, 5].map((i) => inst.transaction(async (tx) => {
        const page = await tx.writePage(db, 1);
        order.push(i);
        await new Promise((r) => setTimeout(r, 5));
        stamp(page, page.readUInt32LE(24) * 10 + i);
      })));
      expect(order).to.deep.equal([1, 2, 3, 4, 5]);
      expect(await readStamp(db, 1)).to.equal(((((1 * 10 + 1) * 10 + 2) * 10 + 3) * 10 + 4) * 10 + 5);
      await inst.close();
    });

    it('refuses to write a page that is not allocated', async () => {
      const inst = await Instance.open(await tmpDir());
      const db = await inst.openDatabase('main.edb', { create: true });
      await expectJetError(inst.transaction(async (tx) => { await tx.writePage(db, 1); }), 'JET_errInvalidParameter');
      await inst.close();
    });
  });

  describe('states', () => {
    it('fails every operation after close with JET_errNotInitialized', async () => {
      const inst = await Instance.open(await tmpDir());
      const db = await inst.openDatabase('main.edb', { create: true });
      await inst.close();
      expect(inst.state).to.equal('closed');
      await expectJetError(inst.beginTransaction(), 'JET_errNotInitialized');
      await expectJetError(db.readPage(1), 'JET_errNotInitialized');
      await expectJetError(inst.openDatabase('main.edb'), 'JET_errNotInitialized');
      await inst.close(); // closing twice is harmless
    });

    it('fails new work with JET_errClientRequestToStopJetService after stopService, and still closes cleanly', async () => {
      const dir = await tmpDir();
      const inst = await Instance.open(dir);
      const db = await inst.openDatabase('main.edb', { create: true });
      await growPages(inst, db, 1);
      inst.stopService();
      expect(inst.state).to.equal('stopped');
      await expectJetError(inst.beginTransaction(), 'JET_errClientRequestToStopJetService');
      await expectJetError(inst.rollLog(), 'JET_errClientRequestToStopJetService');
      await inst.close();
      const again = await Instance.open(dir);
      expect(await readStamp(await again.openDatabase('main.edb'), 1)).to.equal(1);
      await again.close();
    });

    it('fails new work with JET_errTermInProgress while close waits for the active writer', async () => {
      const inst = await Instance.open(await tmpDir());
      const db = await inst.openDatabase('main.edb', { create: true });
      await growPages(inst, db, 1);
      const tx = await inst.beginTransaction();
      stamp(await tx.writePage(db, 1), 5);
      const closing = inst.close();
      expect(inst.state).to.equal('terminating');
      await expectJetError(inst.beginTransaction(), 'JET_errTermInProgress');
      // The writer already inside cannot commit any more either.
      await expectJetError(tx.commit(), 'JET_errTermInProgress');
      tx.rollback();
      await closing;
      expect(inst.state).to.equal('closed');
    });

    it('reports JET_errLoggingDisabled for log operations when recovery is off, and still keeps data', async () => {
      const dir = await tmpDir();
      let inst = await Instance.open(dir, { recovery: false });
      let db = await inst.openDatabase('main.edb', { create: true });
      await growPages(inst, db, 3);
      await expectJetError(inst.getLogInfo(), 'JET_errLoggingDisabled');
      await expectJetError(inst.rollLog(), 'JET_errLoggingDisabled');
      expect(() => inst.pinLogs(1)).to.throw().with.property('errName', 'JET_errLoggingDisabled');
      await inst.close();
      expect((await readdir(dir)).filter((n) => n.endsWith('.log'))).to.deep.equal([]);
      inst = await Instance.open(dir, { recovery: false });
      db = await inst.openDatabase('main.edb');
      expect(await readStamp(db, 3)).to.equal(3);
      await inst.close();
    });
  });

  describe('one owner per directory', () => {
    it('refuses a second open in the same process with JET_errFileAccessDenied naming this process', async () => {
      const dir = await tmpDir();
      const inst = await Instance.open(dir);
      const e = await expectJetError(Instance.open(dir), 'JET_errFileAccessDenied');
      expect(e.message).to.include('this process');
      await inst.close();
      (await Instance.open(dir)).close();
    });

    it('refuses an open while another live process holds the directory, naming its pid', async () => {
      const dir = await tmpDir();
      const holder = spawn(process.execPath, ['--import', 'tsx', '-e', `
        import { Instance } from ${JSON.stringify(new URL('../../src/engine/instance.js', import.meta.url).pathname.replace(/\.js$/, '.ts'))};
        await Instance.open(${JSON.stringify(dir)});
        process.stdout.write('held\\n');
        setInterval(() => {}, 1000);
      `], { stdio: ['ignore', 'pipe', 'inherit'] });
      try {
        await new Promise<void>((resolve, reject) => {
          holder.stdout.on('data', (d) => String(d).includes('held') && resolve());
          holder.on('exit', (c) => reject(new Error(`holder exited ${c}`)));
        });
        const e = await expectJetError(Instance.open(dir), 'JET_errFileAccessDenied');
        expect(e.message).to.include(`process ${holder.pid}`);
      } finally {
        holder.kill('SIGKILL');
        await new Promise((r) => holder.once('exit', r));
      }
      // The holder died without closing: its lock is stale and does not block.
      const inst = await Instance.open(dir);
      await inst.close();
    });

    it('takes over a lock file left by a process that no longer exists', async () => {
      const dir = await tmpDir();
      const dead = spawn(process.execPath, ['-e', '0']);
      await new Promise((r) => dead.once('exit', r));
      await writeFile(path.join(dir, LOCK_NAME), JSON.stringify({ pid: dead.pid, processStart: null, host: (await import('node:os')).hostname(), time: 'then' }));
      const inst = await Instance.open(dir);
      await inst.close();
    });
  });

  it('keeps its directory usable when the database directory has subfolders', async () => {
    const dir = await tmpDir();
    await mkdir(path.join(dir, 'data'));
    const inst = await Instance.open(dir);
    const db = await inst.openDatabase('data/sub.edb', { create: true });
    await growPages(inst, db, 1);
    await inst.close();
    expect(existsSync(path.join(dir, 'data', 'sub.edb'))).to.equal(true);
  });
});
