import { expect } from 'chai';
import * as path from 'node:path';
import { DatabaseFile } from '../../src/engine/database-file.js';
import { Instance } from '../../src/engine/instance.js';
import { DB_STATE_CLEAN_SHUTDOWN, DB_STATE_DIRTY_SHUTDOWN } from '../../src/format/db-header.js';
import { FaultyFileSystem } from '../../src/io/fault-injection.js';
import { nodeFileSystem } from '../../src/io/file-system.js';
import { expectJetError, growPages, readStamp, setPage } from '../helpers/engine.js';
import { removeTmpDirs, tmpDir } from '../helpers/tmp-dir.js';

const isLog = (p: string) => p.includes('.log'); // log files are opened as edbtmp.log.new, then renamed
const isDb = (p: string) => p.endsWith('.edb');

async function dbState(dir: string): Promise<number> {
  const f = await DatabaseFile.open(nodeFileSystem, path.join(dir, 'main.edb'), 'r');
  await f.close();
  return f.header.state;
}

describe('I/O failures (injected)', () => {
  afterEach(removeTmpDirs);

  it('a failed log sync fails the commit with JET_errLogWriteFail and makes the instance unavailable; reopening recovers the acknowledged commits', async () => {
    const dir = await tmpDir();
    const io = new FaultyFileSystem(nodeFileSystem);
    const inst = await Instance.open(dir, { io });
    const db = await inst.openDatabase('main.edb', { create: true });
    await growPages(inst, db, 4);
    await setPage(inst, db, 1, 101);
    io.fail({ op: 'datasync', path: isLog, code: 'EIO' });
    const e = await expectJetError(setPage(inst, db, 2, 202), 'JET_errLogWriteFail');
    expect(e.err).to.equal(-510);
    expect(inst.state).to.equal('unavailable');
    await expectJetError(inst.beginTransaction(), 'JET_errInstanceUnavailable');
    await expectJetError(db.readPage(1), 'JET_errInstanceUnavailable');
    await inst.close();
    // Nothing was marked clean after the failure: the next open must recover.
    expect(await dbState(dir)).to.equal(DB_STATE_DIRTY_SHUTDOWN);

    const again = await Instance.open(dir);
    const db2 = await again.openDatabase('main.edb');
    expect(await readStamp(db2, 1)).to.equal(101);
    expect(await readStamp(db2, 4)).to.equal(4);
    await again.close();
    expect(await dbState(dir)).to.equal(DB_STATE_CLEAN_SHUTDOWN);
  });

  it('a full disk while rolling the log is JET_errLogWriteFail caused by JET_errDiskFull', async () => {
    const dir = await tmpDir();
    const io = new FaultyFileSystem(nodeFileSystem);
    const inst = await Instance.open(dir, { io });
    const db = await inst.openDatabase('main.edb', { create: true });
    await growPages(inst, db, 1);
    io.fail({ op: 'open', path: (p) => p.includes('edbtmp.log'), code: 'ENOSPC' });
    const e = await expectJetError(inst.rollLog(), 'JET_errLogWriteFail');
    expect((e.cause as { errName?: string }).errName).to.equal('JET_errDiskFull');
    expect(inst.state).to.equal('unavailable');
    await inst.close();
    const again = await Instance.open(dir);
    expect(await readStamp(await again.openDatabase('main.edb'), 1)).to.equal(1);
    await again.close();
  });

  it('a failed database write fails the checkpoint but not the instance; a later checkpoint succeeds', async () => {
    const dir = await tmpDir();
    const io = new FaultyFileSystem(nodeFileSystem);
    const inst = await Instance.open(dir, { io });
    const db = await inst.openDatabase('main.edb', { create: true });
    await growPages(inst, db, 4);
    io.fail({ op: 'write', path: isDb, code: 'EIO', times: 1 });
    const e = await expectJetError(inst.checkpoint(), 'JET_errDiskIO');
    expect(e.message).to.include('main.edb');
    expect(inst.state).to.equal('running');
    const before = (await inst.getLogInfo()).checkpoint;
    await setPage(inst, db, 3, 303);
    await inst.checkpoint();
    const after = (await inst.getLogInfo()).checkpoint;
    expect(after.gen * 2 ** 32 + after.off).to.be.greaterThan(before.gen * 2 ** 32 + before.off);
    await inst.close();
    const again = await Instance.open(dir);
    const db2 = await again.openDatabase('main.edb');
    expect(await readStamp(db2, 3)).to.equal(303);
    expect(await readStamp(db2, 4)).to.equal(4);
    await again.close();
  });

  it('a failed attach leaves no half-attached database behind', async () => {
    const dir = await tmpDir();
    const io = new FaultyFileSystem(nodeFileSystem);
    const inst = await Instance.open(dir, { io });
    io.fail({ op: 'datasync', path: isDb, code: 'EIO', times: 1 });
    await expectJetError(inst.openDatabase('main.edb', { create: true }), 'JET_errDiskIO');
    expect(inst.databases()).to.deep.equal([]);
    // Nothing half-made is left in the way: with the fault gone, the same attach works.
    const db = await inst.openDatabase('main.edb', { create: true });
    await growPages(inst, db, 1);
    await inst.close();
  });

  it('a failure between creating the first log and the first checkpoint does not leave an instance that cannot open', async () => {
    const dir = await tmpDir();
    const io = new FaultyFileSystem(nodeFileSystem);
    io.fail({ op: 'open', path: (p) => p.endsWith('edb.chk.tmp'), code: 'EIO' });
    await expectJetError(Instance.open(dir, { io }), 'JET_errDiskIO');
    const inst = await Instance.open(dir);
    const db = await inst.openDatabase('main.edb', { create: true });
    await growPages(inst, db, 1);
    await inst.close();
  });
});
