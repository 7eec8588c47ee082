import { expect } from 'chai';
import { open as fsOpen } from 'node:fs/promises';
import * as path from 'node:path';
import { pageOffset } from '../../src/format/page.js';
import { stampOf } from '../helpers/engine.js';
import { Instance } from '../../src/engine/instance.js';
import { cmpLgpos } from '../../src/format/lgpos.js';
import { FaultyFileSystem } from '../../src/io/fault-injection.js';
import { nodeFileSystem } from '../../src/io/file-system.js';
import { growPages, setPage } from '../helpers/engine.js';
import { removeTmpDirs, tmpDir } from '../helpers/tmp-dir.js';

const isLog = (p: string) => p.includes('.log'); // log files are opened as edbtmp.log.new, then renamed

/** The real file system, counting fdatasync calls on log files (each delayed by `delayMs`). */
function countingLogSyncs(delayMs = 0): { io: FaultyFileSystem; syncs: () => number } {
  const io = new FaultyFileSystem(nodeFileSystem);
  if (delayMs > 0) io.fail({ op: 'datasync', path: isLog, delayMs });
  return { io, syncs: () => io.count('datasync', isLog) };
}

describe('commit durability', () => {
  afterEach(removeTmpDirs);

  it('a durable commit is on disk when it resolves', async () => {
    const inst = await Instance.open(await tmpDir());
    const db = await inst.openDatabase('main.edb', { create: true });
    await growPages(inst, db, 1);
    await setPage(inst, db, 1, 7);
    const info = await inst.getLogInfo();
    expect(cmpLgpos(info.durable, info.tip)).to.equal(0);
    await inst.close();
  });

  it('concurrent durable committers share log flushes (group commit)', async () => {
    const { io, syncs } = countingLogSyncs();
    const inst = await Instance.open(await tmpDir(), { io });
    const db = await inst.openDatabase('main.edb', { create: true });
    await growPages(inst, db, 64);
    const before = syncs();
    await Promise.all(Array.from({ length: 64 }, (_, i) => setPage(inst, db, i + 1, 500 + i)));
    const used = syncs() - before;
    expect(used).to.be.at.least(1);
    expect(used, `${used} log syncs for 64 commits`).to.be.lessThan(32);
    await inst.close();
  });

  it('a lazy commit resolves without waiting for a log flush, and becomes durable soon after', async () => {
    const { io, syncs } = countingLogSyncs();
    const inst = await Instance.open(await tmpDir(), { io, lazyFlushDelayMs: 20 });
    const db = await inst.openDatabase('main.edb', { create: true });
    await growPages(inst, db, 1);
    const before = syncs();
    await setPage(inst, db, 1, 9, false);
    expect(syncs()).to.equal(before);
    let info = await inst.getLogInfo();
    expect(cmpLgpos(info.durable, info.tip)).to.be.lessThan(0);
    await new Promise((r) => setTimeout(r, 200));
    info = await inst.getLogInfo();
    expect(cmpLgpos(info.durable, info.tip)).to.equal(0);
    expect(syncs()).to.be.greaterThan(before);
    await inst.close();
  });

  it('write-ahead: a checkpoint never writes a page whose log records are not durable yet', async () => {
    const { io } = countingLogSyncs(50);
    const dir = await tmpDir();
    const inst = await Instance.open(dir, { io, lazyFlushDelayMs: 5000 });
    const db = await inst.openDatabase('main.edb', { create: true });
    await growPages(inst, db, 2);
    await setPage(inst, db, 1, 5, false); // so that the checkpoint has log to flush
    const checkpoint = inst.checkpoint(); // waits ~50 ms for its log flush
    await setPage(inst, db, 2, 999, false); // committed meanwhile, lazily: not durable
    await checkpoint;
    const info = await inst.getLogInfo();
    expect(cmpLgpos(info.durable, info.tip)).to.be.lessThan(0);
    const raw = Buffer.alloc(8192);
    const fh = await fsOpen(path.join(dir, 'main.edb'), 'r');
    await fh.read(raw, 0, 8192, pageOffset(2, 8192));
    await fh.close();
    expect(stampOf(raw)).to.equal(2);
    await inst.close();
  });
});
