import { expect } from 'chai';
import { readFile, readdir } from 'node:fs/promises';
import * as path from 'node:path';
import { Instance } from '../../src/engine/instance.js';
import { decodeLogHeader } from '../../src/format/log-header.js';
import { archivedLogName, parseArchivedLogName } from '../../src/format/log-names.js';
import { growPages, readStamp, setPage } from '../helpers/engine.js';
import { removeTmpDirs, tmpDir } from '../helpers/tmp-dir.js';

async function generationsOnDisk(dir: string): Promise<number[]> {
  return (await readdir(dir)).map((n) => parseArchivedLogName('edb', n)).filter((g): g is number => g !== undefined).sort((a, b) => a - b);
}

async function headerOf(file: string) {
  const d = decodeLogHeader(await readFile(file));
  if (!d.ok) throw new Error(d.reason);
  return d.header;
}

describe('log generations', () => {
  afterEach(removeTmpDirs);

  it('renames the finished generation to edbXXXXXXXX.log and starts the next in edb.log on a forced roll', async () => {
    const dir = await tmpDir();
    const inst = await Instance.open(dir);
    const db = await inst.openDatabase('main.edb', { create: true });
    await growPages(inst, db, 1);
    expect(await inst.rollLog()).to.equal(1);
    expect(await inst.rollLog()).to.equal(2);
    expect(await generationsOnDisk(dir)).to.deep.equal([1, 2]);
    const [g1, g2, cur] = await Promise.all([
      headerOf(path.join(dir, 'edb00000001.log')), headerOf(path.join(dir, 'edb00000002.log')), headerOf(path.join(dir, 'edb.log')),
    ]);
    expect([g1.generation, g2.generation, cur.generation]).to.deep.equal([1, 2, 3]);
    // Each header carries its predecessor's creation time: the chain restore checks.
    expect(g2.timePrevGen).to.equal(g1.timeCreate);
    expect(cur.timePrevGen).to.equal(g2.timeCreate);
    expect(new Set([g1.logSignature, g2.logSignature, cur.logSignature]).size).to.equal(1);
    // The attached database is listed in the headers written after the attach.
    expect(cur.attached.map((a) => a.name)).to.deep.equal(['main.edb']);
    const info = await inst.getLogInfo();
    expect(info.currentGeneration).to.equal(3);
    expect(info.lowestGeneration).to.equal(1);
    await inst.close();
  });

  it('rolls by itself when a generation is full, and all generations chain and reopen', async () => {
    const dir = await tmpDir();
    let inst = await Instance.open(dir, { logFileSize: 64 * 1024 });
    let db = await inst.openDatabase('main.edb', { create: true });
    await growPages(inst, db, 40);
    // Whole-page changes: ~40 x 8 KiB of log, several 64 KiB generations.
    await inst.transaction(async (tx) => {
      for (let pgno = 1; pgno <= 40; pgno++) (await tx.writePage(db, pgno)).fill(pgno, 100);
    });
    // Concurrent writers append while rolls are in flight.
    await Promise.all(Array.from({ length: 40 }, (_, i) => setPage(inst, db, (i % 40) + 1, 1000 + i)));
    const gens = await generationsOnDisk(dir);
    expect(gens.length).to.be.greaterThan(4);
    expect(gens).to.deep.equal(Array.from({ length: gens.length }, (_, i) => i + 1));
    for (let g = 2; g <= gens.length; g++) {
      const prev = await headerOf(path.join(dir, archivedLogName('edb', g - 1)));
      const cur = await headerOf(path.join(dir, archivedLogName('edb', g)));
      expect(cur.timePrevGen).to.equal(prev.timeCreate);
    }
    await inst.close();
    inst = await Instance.open(dir, { logFileSize: 64 * 1024 });
    db = await inst.openDatabase('main.edb');
    for (let i = 0; i < 40; i++) expect(await readStamp(db, i + 1)).to.equal(1000 + i);
    await inst.close();
  });

  it('keeps every generation without circular logging', async () => {
    const dir = await tmpDir();
    const inst = await Instance.open(dir);
    await inst.openDatabase('main.edb', { create: true });
    for (let i = 0; i < 5; i++) await inst.rollLog();
    await inst.checkpoint();
    expect(await generationsOnDisk(dir)).to.deep.equal([1, 2, 3, 4, 5]);
    await inst.close();
  });

  it('deletes generations below the checkpoint with circular logging', async () => {
    const dir = await tmpDir();
    const inst = await Instance.open(dir, { circularLog: true });
    const db = await inst.openDatabase('main.edb', { create: true });
    await growPages(inst, db, 2);
    for (let i = 0; i < 5; i++) await inst.rollLog();
    await inst.checkpoint();
    const info = await inst.getLogInfo();
    expect(info.checkpoint.gen).to.equal(6);
    expect(await generationsOnDisk(dir)).to.deep.equal([]);
    expect(info.lowestGeneration).to.equal(6);
    await inst.close();
  });

  it('keeps pinned generations through circular deletion and truncation until the pin is released', async () => {
    const dir = await tmpDir();
    const inst = await Instance.open(dir, { circularLog: true });
    await inst.openDatabase('main.edb', { create: true });
    await inst.rollLog();
    await inst.rollLog();
    const release = inst.pinLogs(2);
    for (let i = 0; i < 3; i++) await inst.rollLog();
    await inst.checkpoint();
    expect(await generationsOnDisk(dir)).to.deep.equal([2, 3, 4, 5]);
    expect(await inst.truncateLogs(6)).to.deep.equal([]);
    release();
    await inst.checkpoint();
    expect(await generationsOnDisk(dir)).to.deep.equal([]);
    await inst.close();
  });

  it('truncates only below both the requested generation and the checkpoint, oldest first', async () => {
    const dir = await tmpDir();
    const inst = await Instance.open(dir);
    await inst.openDatabase('main.edb', { create: true });
    for (let i = 0; i < 6; i++) await inst.rollLog();
    await inst.checkpoint();
    expect(await inst.truncateLogs(3)).to.deep.equal([1, 2]);
    expect(await inst.truncateLogs(100)).to.deep.equal([3, 4, 5, 6]);
    expect(await generationsOnDisk(dir)).to.deep.equal([]);
    await inst.close();
  });
});
