import { expect } from 'chai';
import { Instance } from '../../src/engine/instance.js';
import { FaultyFileSystem } from '../../src/io/fault-injection.js';
import { nodeFileSystem } from '../../src/io/file-system.js';
import { expectJetError } from '../helpers/engine.js';
import { removeTmpDirs, tmpDir } from '../helpers/tmp-dir.js';

const key = (i: number) => `k${i.toString().padStart(5, '0')}`;

async function countRows(db: Awaited<ReturnType<Instance['openDatabase']>>, table: string): Promise<number> {
  let n = 0;
  for await (const _ of db.range(table)) n++;
  return n;
}

describe('tables: transactions', () => {
  afterEach(removeTmpDirs);

  it('runs the operations of one transaction one at a time, even when they are started together', async () => {
    const inst = await Instance.open(await tmpDir(), { pageSize: 4096 });
    const db = await inst.openDatabase('main.edb', { create: true });
    await db.put('t', key(100000), 'seed');
    await db.transaction(async (tx) => {
      await Promise.all(Array.from({ length: 200 }, (_, i) => tx.put('t', key(i), 'x'.repeat(100))));
    });
    await db.transaction(async (tx) => {
      await Promise.all([
        ...Array.from({ length: 100 }, (_, i) => tx.delete('t', key(i * 2))),
        ...Array.from({ length: 100 }, (_, i) => tx.put('new', key(i), 'y')),
      ]);
    });
    expect(await countRows(db, 't')).to.equal(101);
    expect(await countRows(db, 'new')).to.equal(100);
    expect((await db.checkTables()).problems).to.deep.equal([]);
    await inst.close();
  });

  it('waits for an operation the callback did not await before committing', async () => {
    const inst = await Instance.open(await tmpDir());
    const db = await inst.openDatabase('main.edb', { create: true });
    await db.transaction(async (tx) => { void tx.put('t', 'late', 'v'); });
    expect(String(await db.get('t', 'late'))).to.equal('v');
    await inst.close();
  });

  it('rolls back the whole transaction when an operation failed half way, even if the callback caught the error', async () => {
    const dir = await tmpDir();
    const io = new FaultyFileSystem(nodeFileSystem);
    const inst = await Instance.open(dir, { io, pageSize: 4096, cacheSizePages: 64 });
    const db = await inst.openDatabase('main.edb', { create: true });
    await db.transaction(async (tx) => { for (let i = 0; i < 2000; i++) await tx.put('t', key(i), 'v'.repeat(50)); });
    await inst.checkpoint();
    // Push the table out of the cache, then fail the next database read.
    await db.transaction(async (tx) => { for (let i = 0; i < 300; i++) await tx.put('other', key(i), 'w'.repeat(2000)); });
    await inst.checkpoint();
    io.fail({ op: 'read', path: (p) => p.endsWith('main.edb'), code: 'EIO', times: 1 });
    const err = await db.transaction(async (tx) => {
      await tx.put('t', 'before', '1');
      await tx.delete('t', key(1500)).catch(() => false);
      await tx.put('t', 'after', '2').catch(() => undefined);
    }).catch((e: unknown) => e);
    expect(err).to.have.property('errName', 'JET_errDiskIO');
    expect(await db.get('t', 'before')).to.equal(undefined);
    expect(await countRows(db, 't')).to.equal(2000);
    expect((await db.checkTables()).problems).to.deep.equal([]);
    await inst.close();
  });

  it('refuses commit options that are not booleans, and the instance goes on', async () => {
    const inst = await Instance.open(await tmpDir());
    const db = await inst.openDatabase('main.edb', { create: true });
    await expectJetError(db.put('t', 'a', 'b', { durable: 'no' as unknown as boolean }), 'JET_errInvalidParameter');
    await db.put('t', 'a', 'b', null as unknown as undefined);
    await expectJetError(db.transaction(undefined as never), 'JET_errInvalidParameter');
    expect(String(await db.get('t', 'a'))).to.equal('b');
    await inst.close();
  });

  it('copies the key: changing the caller buffer while a put runs changes nothing', async () => {
    const inst = await Instance.open(await tmpDir());
    const db = await inst.openDatabase('main.edb', { create: true });
    const k = Buffer.from('stable');
    const put = db.put('t', k, 'v');
    k.fill(0x7a);
    await put;
    expect(String(await db.get('t', 'stable'))).to.equal('v');
    expect(await db.get('t', 'zzzzzz')).to.equal(undefined);
    await inst.close();
  });

  it('an open snapshot keeps at most the page image it can read, however many commits follow', async () => {
    const inst = await Instance.open(await tmpDir());
    const db = await inst.openDatabase('main.edb', { create: true });
    await db.put('t', 'row', '0');
    const snap = inst.openSnapshot();
    for (let i = 1; i <= 200; i++) await db.put('t', 'row', String(i));
    let most = 0;
    for (let pgno = 1; pgno <= db.pageCount; pgno++) {
      most = Math.max(most, inst.cache.get(db.dbid, pgno)?.older?.length ?? 0);
    }
    expect(most).to.equal(1);
    snap.close();
    await inst.close();
  });
});
