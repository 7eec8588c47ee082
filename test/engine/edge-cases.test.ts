import { expect } from 'chai';
import { readFile, unlink, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { Instance, type InstanceEvent } from '../../src/engine/instance.js';
import { parseGeneration } from '../../src/engine/log-reader.js';
import { decodeLogHeader } from '../../src/format/log-header.js';
import { REC_BEGIN, REC_PAGE, encodePage, encodeTxid, frameRecordInto } from '../../src/format/log-record.js';
import { FaultyFileSystem } from '../../src/io/fault-injection.js';
import { nodeFileSystem } from '../../src/io/file-system.js';
import { expectJetError, growPages, readStamp, setPage, stamp } from '../helpers/engine.js';
import { removeTmpDirs, tmpDir } from '../helpers/tmp-dir.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('instance edge cases', () => {
  afterEach(removeTmpDirs);

  it('a database attached while the log rolls is listed in the new generation header', async () => {
    const dir = await tmpDir();
    const io = new FaultyFileSystem(nodeFileSystem);
    const inst = await Instance.open(dir, { io });
    await inst.openDatabase('a.edb', { create: true });
    // Slow down b.edb's header write: the roll lands between its ATTACH record and the end of the attach.
    // (after: 2 lets the create's own header write through; the delay hits the attach's.)
    io.fail({ op: 'datasync', path: (p) => p.endsWith('b.edb'), after: 2, delayMs: 60 });
    await Promise.all([inst.openDatabase('b.edb', { create: true }), sleep(30).then(() => inst.rollLog())]);
    const h = decodeLogHeader(await readFile(path.join(dir, 'edb.log')));
    if (!h.ok) throw new Error(h.reason);
    expect(h.header.attached.map((a) => a.name).sort()).to.deep.equal(['a.edb', 'b.edb']);
    await inst.close();
  });

  it('an interrupted roll survives a failed reopen: the tmp generation is replaced, never just deleted', async () => {
    const dir = await tmpDir();
    const io = new FaultyFileSystem(nodeFileSystem);
    let inst = await Instance.open(dir, { io });
    const db = await inst.openDatabase('main.edb', { create: true });
    await growPages(inst, db, 2);
    io.fail({ op: 'rename', path: (p) => p.endsWith('edbtmp.log'), code: 'EIO' });
    await expectJetError(inst.rollLog(), 'JET_errLogWriteFail');
    await inst.close(); // edb00000001.log and edbtmp.log, no edb.log
    const failing = new FaultyFileSystem(nodeFileSystem).fail({ op: 'open', path: (p) => p.endsWith('edbtmp.log.new'), code: 'EMFILE' });
    await expectJetError(Instance.open(dir, { io: failing }), 'JET_errDiskIO');
    inst = await Instance.open(dir);
    expect(await readStamp(await inst.openDatabase('main.edb'), 2)).to.equal(2);
    await inst.close();
  });

  it('checkpoints asked for back to back never run two at once', async () => {
    const inst = await Instance.open(await tmpDir());
    const db = await inst.openDatabase('main.edb', { create: true });
    await growPages(inst, db, 4);
    for (let i = 0; i < 20; i++) {
      await setPage(inst, db, 1 + (i % 4), i, false);
      const a = inst.checkpoint();
      const b = inst.checkpoint();
      await a;
      await Promise.all([b, inst.checkpoint()]);
    }
    await inst.close();
  });

  it('close does not hang when a transaction is still running: its commit fails and the writer slot is freed', async () => {
    const inst = await Instance.open(await tmpDir());
    const db = await inst.openDatabase('main.edb', { create: true });
    await growPages(inst, db, 1);
    const running = inst.transaction(async (tx) => {
      const page = await tx.writePage(db, 1);
      await sleep(50);
      stamp(page, 9);
    });
    const outcome = running.then(() => undefined, (e: unknown) => e);
    await sleep(10);
    await inst.close();
    await expectJetError(outcome.then((e) => { throw e; }), 'JET_errTermInProgress');
  });

  it('a commit resolves even when the checkpoint it triggers fails; the failure is an event', async () => {
    const dir = await tmpDir();
    const io = new FaultyFileSystem(nodeFileSystem);
    const inst = await Instance.open(dir, { io, cacheSizePages: 64, checkpointDirtyPages: 64 });
    const events: InstanceEvent[] = [];
    inst.on('event', (e: InstanceEvent) => events.push(e));
    const db = await inst.openDatabase('main.edb', { create: true });
    io.fail({ op: 'write', path: (p) => p.endsWith('.edb'), code: 'ENOSPC' });
    await growPages(inst, db, 100); // more dirty pages than the cache holds: the commit runs a checkpoint
    expect(events.some((e) => e.type === 'checkpoint-failed')).to.equal(true);
    io.clear();
    await inst.close();
    const again = await Instance.open(dir);
    expect(await readStamp(await again.openDatabase('main.edb'), 100)).to.equal(100);
    await again.close();
  });

  it('a new database file is made durable in its directory', async () => {
    const dir = await tmpDir();
    const io = new FaultyFileSystem(nodeFileSystem);
    const inst = await Instance.open(dir, { io, logFilePath: 'logs', systemPath: 'logs', createPathIfNotExist: true });
    const before = io.count('syncDir', (p) => p === dir);
    await inst.openDatabase('main.edb', { create: true });
    expect(io.count('syncDir', (p) => p === dir)).to.be.greaterThan(before);
    await inst.close();
  });

  it('a transaction cut off by a crash is closed with TERM, so replay from the start of the log still works', async () => {
    const dir = await tmpDir();
    let inst = await Instance.open(dir);
    let db = await inst.openDatabase('main.edb', { create: true });
    await growPages(inst, db, 2);
    await inst.close();
    // What a crash mid-write leaves: BEGIN and a PAGE record, no COMMIT.
    const log = path.join(dir, 'edb.log');
    const bytes = await readFile(log);
    const g = parseGeneration(bytes, log, true);
    const page = encodePage({ dbid: 1, pgno: 1, dbtimeBefore: 2, dbtimeAfter: 3, ranges: [{ offset: 24, bytes: Buffer.from([9, 9, 9, 9]) }] });
    const at = frameRecordInto(bytes, g.end, g.header.generation, REC_BEGIN, encodeTxid(99));
    frameRecordInto(bytes, at, g.header.generation, REC_PAGE, page);
    await writeFile(log, bytes);
    inst = await Instance.open(dir);
    expect(inst.recovery?.transactionsDropped).to.equal(1);
    db = await inst.openDatabase('main.edb');
    expect(await readStamp(db, 1)).to.equal(1);
    await setPage(inst, db, 2, 22);
    await inst.close();
    await unlink(path.join(dir, 'edb.chk')); // replay everything, from generation 1
    inst = await Instance.open(dir);
    db = await inst.openDatabase('main.edb');
    expect(await readStamp(db, 1)).to.equal(1);
    expect(await readStamp(db, 2)).to.equal(22);
    await inst.close();
  });

  it('a checkpoint past the end of the log (the log lost its tail) is JET_errCheckpointCorrupt', async () => {
    const dir = await tmpDir();
    const inst = await Instance.open(dir);
    await growPages(inst, await inst.openDatabase('main.edb', { create: true }), 2);
    await inst.close();
    const log = path.join(dir, 'edb.log');
    const bytes = await readFile(log);
    const g = parseGeneration(bytes, log, true);
    bytes.fill(0, g.records[g.records.length - 1]!.off);
    await writeFile(log, bytes);
    const e = await expectJetError(Instance.open(dir), 'JET_errCheckpointCorrupt');
    expect(e.message).to.include('past the end of the log');
  });

  it('a full disk while creating the first log generation is a JetError (JET_errDiskFull)', async () => {
    const io = new FaultyFileSystem(nodeFileSystem).fail({ op: 'open', path: (p) => p.includes('edbtmp.log'), code: 'ENOSPC' });
    await expectJetError(Instance.open(await tmpDir(), { io }), 'JET_errDiskFull');
  });
});
