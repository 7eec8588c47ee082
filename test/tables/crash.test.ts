/**
 * Crash recovery of the tables: a child process commits durable table
 * transactions (test/fixtures/table-writer.ts) and is killed with SIGKILL at
 * random moments, again and again in the same directory. After each kill the
 * tables must hold exactly transactions 1..last replayed through the model,
 * where last is the highest acknowledged k or the one after it (durable but
 * killed before it could say so), and the trees must be structurally sound.
 */
import { expect } from 'chai';
import { cp, rm } from 'node:fs/promises';
import * as path from 'node:path';
import { Instance } from '../../src/engine/instance.js';
import { LOCK_NAME } from '../../src/engine/instance-lock.js';
import { nodeFileSystem, type FileHandle, type FileSystem, type OpenMode } from '../../src/io/file-system.js';
import { patterned } from '../helpers/bytes.js';
import { runAndKill, type Kill } from '../helpers/kill-child.js';
import { removeTmpDirs, tmpDir } from '../helpers/tmp-dir.js';
import { COUNTER_KEY, COUNTER_TABLE, TABLE_CRASH_PARAMS, TABLE_DB, replay } from '../fixtures/table-crash-model.js';
import { Model, expectDatabaseEquals, verifyEveryPage } from './table-helpers.js';

const CHILD = new URL('../fixtures/table-writer.ts', import.meta.url).pathname;

function runWriter(dir: string, seed: number, kill: Kill) {
  return runAndKill(CHILD, [dir, String(seed)], kill);
}

/** The model after transactions 1..last, with the values built. */
function modelAt(seed: number, last: number): Model {
  const m = new Model();
  for (const [table, rows] of replay(seed, last)) {
    m.tables.set(table, new Map());
    for (const [key, v] of rows) {
      if (typeof v === 'number') {
        const b = Buffer.alloc(4);
        b.writeUInt32BE(v, 0);
        m.put(table, key, b);
      } else {
        m.put(table, key, patterned(v.size, v.seed));
      }
    }
  }
  return m;
}

/** node:fs, except that the next fdatasync of a database file first runs (and awaits) a hook, once. */
class HookedFileSystem implements FileSystem {
  hook: (() => Promise<void>) | null = null;

  async open(p: string, mode: OpenMode): Promise<FileHandle> {
    const fh = await nodeFileSystem.open(p, mode);
    if (!p.endsWith('.edb')) return fh;
    return {
      read: (b, o, l, pos) => fh.read(b, o, l, pos),
      write: (b, o, l, pos) => fh.write(b, o, l, pos),
      writev: (bufs, pos) => fh.writev(bufs, pos),
      datasync: async () => {
        const h = this.hook;
        this.hook = null;
        if (h) await h();
        return fh.datasync();
      },
      truncate: (len) => fh.truncate(len),
      size: () => fh.size(),
      close: () => fh.close(),
    };
  }
  rename(from: string, to: string) { return nodeFileSystem.rename(from, to); }
  unlink(p: string) { return nodeFileSystem.unlink(p); }
  readdir(p: string) { return nodeFileSystem.readdir(p); }
  mkdir(p: string, recursive: boolean) { return nodeFileSystem.mkdir(p, recursive); }
  rmdir(p: string) { return nodeFileSystem.rmdir(p); }
  exists(p: string) { return nodeFileSystem.exists(p); }
  readFile(p: string) { return nodeFileSystem.readFile(p); }
  syncDir(p: string) { return nodeFileSystem.syncDir(p); }
}

describe('tables: crash recovery', function () {
  this.timeout(process.env.SOAK ? 0 : 180_000);
  afterEach(removeTmpDirs);

  const rounds = process.env.SOAK ? 120 : 16;

  it(`after each of ${rounds} kills the tables hold exactly the transactions through the last durable one, and check clean`, async () => {
    const dir = await tmpDir('tables-crash-');
    const seed = 20_261_125;
    let random = 777;
    const nextRandom = () => (random = (random * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    let prevLast = 0;
    let redone = 0;
    for (let round = 0; round < rounds; round++) {
      // Most kills land while transactions run; every fourth may land while the child is still starting or recovering.
      const kill: Kill = round % 4 === 3
        ? { afterSpawnMs: 150 + Math.floor(nextRandom() * 500) }
        : { afterReadyMs: 10 + Math.floor(nextRandom() * 400) };
      const { start, acked } = await runWriter(dir, seed, kill);
      // Every third round is checked on a copy, so the next child must recover the crashed directory itself.
      const onCopy = round % 3 === 1;
      const target = onCopy ? await tmpDir('tables-crash-copy-') : dir;
      if (onCopy) await cp(dir, target, { recursive: true });
      const inst = await Instance.open(target, TABLE_CRASH_PARAMS);
      try {
        const db = await inst.openDatabase(TABLE_DB, { create: true });
        const counter = await db.get(COUNTER_TABLE, COUNTER_KEY);
        const last = counter ? counter.readUInt32BE(0) : 0;
        if (start === undefined) {
          expect(last, `round ${round}: killed before ready, nothing new committed`).to.equal(prevLast);
        } else {
          expect(start, `round ${round}: the child started from the last committed k`).to.equal(prevLast);
          expect(last, `round ${round}: last committed k (acked ${acked})`).to.be.at.least(acked!);
          expect(last, `round ${round}: last committed k (acked ${acked})`).to.be.at.most(acked! + 1);
        }
        await expectDatabaseEquals(db, modelAt(seed, last), `round ${round} (k = ${last})`);
        redone += inst.recovery?.transactionsRedone ?? 0;
        prevLast = last;
      } finally {
        await inst.close();
      }
      await verifyEveryPage(target, TABLE_DB);
      if (onCopy) await rm(target, { recursive: true, force: true });
    }
    // The kills really landed mid-work, with transactions for recovery to redo, and work got done.
    expect(redone).to.be.greaterThan(0);
    expect(prevLast).to.be.greaterThan(rounds);
  });

  it('a commit made while a checkpoint writes its pages, and lost in a crash, leaves no page leaked or unreadable after recovery', async () => {
    // The checkpoint takes its snapshot of dirty pages; while it writes them
    // (at the database file's fdatasync) a lazy commit allocates new pages.
    // Its log records are not written yet when the "crash" (a copy of the
    // directory as it is on disk) happens, so recovery must not count its pages.
    const dir = await tmpDir('tables-race-');
    const io = new HookedFileSystem();
    const inst = await Instance.open(dir, { io, pageSize: 4096, lazyFlushDelayMs: 10_000 });
    const crashed = await tmpDir('tables-race-crashed-');
    try {
      const db = await inst.openDatabase(TABLE_DB, { create: true });
      const model = new Model();
      for (let i = 0; i < 20; i++) {
        await db.put('t', `k${i}`, patterned(500, i + 1));
        model.put('t', `k${i}`, patterned(500, i + 1));
      }
      const committed = db.pageCount;
      io.hook = () => db.put('t', 'late', patterned(20_000, 99), { durable: false });
      await inst.checkpoint();
      expect(io.hook, 'the hook ran inside the checkpoint').to.equal(null);
      expect(db.pageCount, 'the late commit allocated pages').to.be.above(committed);
      await cp(dir, crashed, { recursive: true });
      await rm(path.join(crashed, LOCK_NAME));

      const after = await Instance.open(crashed, { pageSize: 4096 });
      try {
        const adb = await after.openDatabase(TABLE_DB);
        expect(await adb.get('t', 'late'), 'the lost lazy commit').to.equal(undefined);
        await expectDatabaseEquals(adb, model, 'after recovering the crashed copy');
      } finally {
        await after.close();
      }
      await verifyEveryPage(crashed, TABLE_DB);
    } finally {
      await inst.close();
    }
  });
});
