import { expect } from 'chai';
import { Instance } from '../../src/engine/instance.js';
import { growPages, readStamp, setPage, stampOf } from '../helpers/engine.js';
import { removeTmpDirs, tmpDir } from '../helpers/tmp-dir.js';

describe('snapshots', () => {
  afterEach(removeTmpDirs);

  it('a reader at a snapshot sees the pages as they were, while later commits are visible to others', async () => {
    const inst = await Instance.open(await tmpDir());
    const db = await inst.openDatabase('main.edb', { create: true });
    await growPages(inst, db, 3);
    const snap = inst.openSnapshot();
    await setPage(inst, db, 2, 222);
    await growPages(inst, db, 1);
    expect(stampOf((await db.readPage(2, snap.seq)).page)).to.equal(2);
    expect((await db.readPage(4, snap.seq)).initialized).to.equal(false);
    expect(await readStamp(db, 2)).to.equal(222);
    expect(await readStamp(db, 4)).to.equal(4);
    snap.close();
    await inst.close();
  });

  it('keeps old images through checkpoints and cache eviction until the snapshot closes', async () => {
    const inst = await Instance.open(await tmpDir(), { cacheSizePages: 64, checkpointDirtyPages: 8 });
    const db = await inst.openDatabase('main.edb', { create: true });
    await growPages(inst, db, 300);
    await inst.checkpoint();
    const snap = inst.openSnapshot();
    for (let round = 1; round <= 3; round++) {
      for (let pgno = 1; pgno <= 300; pgno += 3) await setPage(inst, db, pgno, round * 1000 + pgno);
      await inst.checkpoint();
    }
    for (let pgno = 1; pgno <= 300; pgno++) {
      expect(stampOf((await db.readPage(pgno, snap.seq)).page), `page ${pgno} at the snapshot`).to.equal(pgno);
    }
    expect(await readStamp(db, 1)).to.equal(3001);
    snap.close();
    // Closed: the old images are gone, the cache can shrink back to its size.
    await growPages(inst, db, 100);
    await inst.checkpoint();
    await growPages(inst, db, 1);
    expect(inst.cache.size).to.be.at.most(64 + 2);
    await inst.close();
  });
});
