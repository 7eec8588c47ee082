import { expect } from 'chai';
import { open as fsOpen, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { DatabaseFile } from '../../src/engine/database-file.js';
import { Instance } from '../../src/engine/instance.js';
import { parseGeneration } from '../../src/engine/log-reader.js';
import { nodeFileSystem } from '../../src/io/file-system.js';
import { DB_STATE_DIRTY_SHUTDOWN } from '../../src/format/db-header.js';
import { encodeCheckpoint, decodeCheckpoint } from '../../src/format/checkpoint.js';
import { decodeLogHeader, encodeLogHeader } from '../../src/format/log-header.js';
import { pageOffset } from '../../src/format/page.js';
import { expectJetError, growPages, readStamp, setPage } from '../helpers/engine.js';
import { removeTmpDirs, tmpDir } from '../helpers/tmp-dir.js';

async function flipByteInFile(file: string, at: number): Promise<void> {
  const fh = await fsOpen(file, 'r+');
  try {
    const b = Buffer.alloc(1);
    await fh.read(b, 0, 1, at);
    b[0] ^= 0x5a;
    await fh.write(b, 0, 1, at);
  } finally {
    await fh.close();
  }
}

/** An instance with one database of 8 stamped pages, closed cleanly. */
async function populated(options: { rolls?: number } = {}): Promise<string> {
  const dir = await tmpDir();
  const inst = await Instance.open(dir);
  const db = await inst.openDatabase('main.edb', { create: true });
  await growPages(inst, db, 8);
  for (let i = 0; i < (options.rolls ?? 0); i++) {
    await setPage(inst, db, 1 + i, 100 + i);
    await inst.rollLog();
  }
  await inst.close();
  return dir;
}

/** Point the checkpoint back at the start of generation `gen` (a checkpoint that never advanced). */
async function rewindCheckpoint(dir: string, gen: number): Promise<void> {
  const file = path.join(dir, 'edb.chk');
  const d = decodeCheckpoint(await readFile(file));
  if (!d.ok) throw new Error(d.reason);
  await writeFile(file, encodeCheckpoint({ ...d.checkpoint, lgpos: { gen, off: 4096 } }));
}

describe('corruption is detected, with its error code', () => {
  afterEach(removeTmpDirs);

  it('a flipped byte in a database page: JET_errReadVerifyFailure naming file and page', async () => {
    const dir = await populated();
    await flipByteInFile(path.join(dir, 'main.edb'), pageOffset(5, 8192) + 3000);
    const inst = await Instance.open(dir);
    const db = await inst.openDatabase('main.edb');
    expect(await readStamp(db, 4)).to.equal(4);
    const e = await expectJetError(db.readPage(5), 'JET_errReadVerifyFailure');
    expect(e.err).to.equal(-1018);
    expect(e.message).to.include('main.edb').and.include('page 5').and.include('checksum');
    await inst.close();
  });

  it('a page written in the wrong place: JET_errReadVerifyFailure saying which page it claims to be', async () => {
    const dir = await populated();
    const file = path.join(dir, 'main.edb');
    const bytes = await readFile(file);
    bytes.copy(bytes, pageOffset(6, 8192), pageOffset(2, 8192), pageOffset(3, 8192));
    await writeFile(file, bytes);
    const inst = await Instance.open(dir);
    const db = await inst.openDatabase('main.edb');
    const e = await expectJetError(db.readPage(6), 'JET_errReadVerifyFailure');
    expect(e.message).to.include('page 6').and.include('it is page 2');
    await inst.close();
  });

  for (const pageSize of [4096, 8192, 32768]) {
    it(`a zeroed primary header with ${pageSize}-byte pages: the shadow copy takes over`, async () => {
      const dir = await tmpDir();
      let inst = await Instance.open(dir, { pageSize });
      await growPages(inst, await inst.openDatabase('main.edb', { create: true }), 3);
      await inst.close();
      const file = path.join(dir, 'main.edb');
      const fh = await fsOpen(file, 'r+');
      await fh.write(Buffer.alloc(pageSize), 0, pageSize, 0);
      await fh.close();
      inst = await Instance.open(dir, { pageSize });
      expect(await readStamp(await inst.openDatabase('main.edb'), 3)).to.equal(3);
      await inst.close();
    });
  }

  it('a torn database header: the shadow copy takes over; both torn: JET_errDatabaseCorrupted', async () => {
    const dir = await populated();
    const file = path.join(dir, 'main.edb');
    await flipByteInFile(file, 40);
    let inst = await Instance.open(dir);
    expect(await readStamp(await inst.openDatabase('main.edb'), 8)).to.equal(8);
    await inst.close();
    await flipByteInFile(file, 40);
    await flipByteInFile(file, 8192 + 40);
    inst = await Instance.open(dir);
    const e = await expectJetError(inst.openDatabase('main.edb'), 'JET_errDatabaseCorrupted');
    expect(e.message).to.include('page 0').and.include('page 1');
    await inst.close();
  });

  it('a flipped byte in a log record followed by valid ones: JET_errLogReadVerifyFailure naming the offset', async () => {
    const dir = await populated();
    const log = path.join(dir, 'edb.log');
    const g = parseGeneration(await readFile(log), log, true);
    const victim = g.records[1]!;
    await flipByteInFile(log, victim.off + 14);
    const e = await expectJetError(Instance.open(dir), 'JET_errLogReadVerifyFailure');
    expect(e.err).to.equal(-612);
    expect(e.message).to.include(`offset ${victim.off}`).and.include('edb.log');
  });

  it('a flipped byte in a log file header: JET_errLogFileCorrupt', async () => {
    const dir = await populated();
    await flipByteInFile(path.join(dir, 'edb.log'), 20);
    await expectJetError(Instance.open(dir), 'JET_errLogFileCorrupt');
  });

  it('a flipped byte in the checkpoint: JET_errCheckpointCorrupt', async () => {
    const dir = await populated();
    await flipByteInFile(path.join(dir, 'edb.chk'), 14);
    await expectJetError(Instance.open(dir), 'JET_errCheckpointCorrupt');
  });

  it('no checkpoint, but log generation 1 still there: recovery replays from the start of the log', async () => {
    const dir = await populated({ rolls: 2 });
    await unlink(path.join(dir, 'edb.chk'));
    const inst = await Instance.open(dir);
    const db = await inst.openDatabase('main.edb');
    expect(await readStamp(db, 1)).to.equal(100);
    expect(await readStamp(db, 2)).to.equal(101);
    expect(await readStamp(db, 8)).to.equal(8);
    await inst.close();
  });

  it('no checkpoint and generation 1 gone: JET_errCheckpointCorrupt', async () => {
    const dir = await populated({ rolls: 2 });
    await unlink(path.join(dir, 'edb.chk'));
    await unlink(path.join(dir, 'edb00000001.log'));
    const e = await expectJetError(Instance.open(dir), 'JET_errCheckpointCorrupt');
    expect(e.message).to.include('generation 1');
  });

  it('a missing current log: JET_errMissingLogFile', async () => {
    const dir = await populated({ rolls: 2 });
    await unlink(path.join(dir, 'edb.log'));
    await expectJetError(Instance.open(dir), 'JET_errMissingLogFile');
  });

  it('a missing generation that recovery needs: JET_errRequiredLogFilesMissing, or JET_errMissingPreviousLogFile for the checkpoint generation', async () => {
    const dir = await populated({ rolls: 3 });
    await rewindCheckpoint(dir, 1);
    await rm(path.join(dir, 'edb00000002.log'));
    const e = await expectJetError(Instance.open(dir), 'JET_errRequiredLogFilesMissing');
    expect(e.message).to.include('generation 2');
    await rm(path.join(dir, 'edb00000001.log'));
    await expectJetError(Instance.open(dir), 'JET_errMissingPreviousLogFile');
  });

  it('a generation from another log sequence: JET_errBadLogSignature', async () => {
    const dir = await populated({ rolls: 3 });
    const other = await populated({ rolls: 3 });
    await rewindCheckpoint(dir, 1);
    await writeFile(path.join(dir, 'edb00000002.log'), await readFile(path.join(other, 'edb00000002.log')));
    await expectJetError(Instance.open(dir), 'JET_errBadLogSignature');
  });

  it('a generation whose previous-generation time does not match: JET_errInvalidLogSequence', async () => {
    const dir = await populated({ rolls: 3 });
    await rewindCheckpoint(dir, 1);
    const file = path.join(dir, 'edb00000003.log');
    const bytes = await readFile(file);
    const h = decodeLogHeader(bytes);
    if (!h.ok) throw new Error(h.reason);
    encodeLogHeader({ ...h.header, timePrevGen: h.header.timePrevGen - 1 }).copy(bytes, 0);
    await writeFile(file, bytes);
    await expectJetError(Instance.open(dir), 'JET_errInvalidLogSequence');
  });

  it('a dirty database whose logs are gone: JET_errDatabaseDirtyShutdown', async () => {
    const dir = await populated({ rolls: 1 });
    const f = await DatabaseFile.open(nodeFileSystem, path.join(dir, 'main.edb'));
    await f.writeHeader({ ...f.header, state: DB_STATE_DIRTY_SHUTDOWN });
    await f.close();
    for (const n of ['edb.log', 'edb00000001.log', 'edb.chk']) await unlink(path.join(dir, n));
    const e = await expectJetError(Instance.open(dir), 'JET_errDatabaseDirtyShutdown');
    expect(e.message).to.include('main.edb');
  });

  it('a torn write at the very end of the current log is a clean end: it is zeroed and the instance goes on', async () => {
    const dir = await populated();
    const log = path.join(dir, 'edb.log');
    const g = parseGeneration(await readFile(log), log, true);
    const junk = Buffer.from('torn half-written record bytes!!');
    const fh = await fsOpen(log, 'r+');
    await fh.write(junk, 0, junk.length, g.end);
    await fh.close();
    let inst = await Instance.open(dir);
    let db = await inst.openDatabase('main.edb');
    await setPage(inst, db, 2, 2222);
    await inst.close();
    inst = await Instance.open(dir);
    db = await inst.openDatabase('main.edb');
    expect(await readStamp(db, 2)).to.equal(2222);
    expect(await readStamp(db, 8)).to.equal(8);
    await inst.close();
  });
});
