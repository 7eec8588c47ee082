/**
 * Regression test (found in review; fixed): close() waits for the attach queue, which a full backup holds for
 * its whole page copy. The copy checks the instance state only before each
 * range's rate-limit wait, not after it: with rateBytesPerSec set, every range
 * already in flight (2 x workers of them) sleeps out its reserved slot and
 * is then copied anyway, so close() hangs for up to 2 x workers x
 * rangeBytes / rate (default ranges 8 MiB: ~33 s at 1 MiB/s).
 */
import { expect } from 'chai';
import { setTimeout as sleep } from 'node:timers/promises';
import { Instance } from '../../src/engine/instance.js';
import { removeTmpDirs, tmpDir } from '../helpers/tmp-dir.js';

describe('close() during a rate-limited backup', function () {
  this.timeout(60_000);
  afterEach(removeTmpDirs);

  it('returns promptly (the backup ends with JET_errTermInProgress)', async () => {
    const inst = await Instance.open(await tmpDir('review-pace-'), { logFileSize: 256 * 1024, pageSize: 4096 });
    const db = await inst.openDatabase('main.edb', { create: true });
    for (let i = 0; i < 2000; i++) await db.put('t', `k${String(i).padStart(6, '0')}`, 'v'.repeat(200), { durable: false });
    await inst.checkpoint();
    expect(db.file.pagesOnDisk).to.be.greaterThan(200);
    // 32 pages (128 KiB) per range at 128 KiB/s: one range a second, 4 in flight with 2 workers.
    const backup = inst.backup(await tmpDir('review-pace-bk-'), 0, undefined, { rangePages: 32, rateBytesPerSec: 128 * 1024, workers: 2 });
    await sleep(1500);
    const t0 = performance.now();
    await inst.close();
    const closeMs = performance.now() - t0;
    const err = await backup.then(() => 'succeeded', (e: Error & { errName?: string }) => e.errName);
    expect({ err, slow: closeMs > 1000 }, `close() took ${closeMs.toFixed(0)} ms`).to.deep.equal({ err: 'JET_errTermInProgress', slow: false });
  });
});
