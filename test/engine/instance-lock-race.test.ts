/**
 * Regression test (found in review; fixed): two concurrent Instance.open() of the same directory in one process
 * must not both succeed (instance-lock.ts treats a lock holding our own pid as
 * stale whenever it is read, even when another acquire in this process is
 * holding it or about to).
 */
import { expect } from 'chai';
import { Instance } from '../../src/engine/instance.js';
import { removeTmpDirs, tmpDir } from '../helpers/tmp-dir.js';

describe('instance lock, concurrent opens in one process', function () {
  afterEach(removeTmpDirs);

  it('refuses the second of two concurrent opens', async () => {
    const dir = await tmpDir('review-lock-');
    // Create the instance once so both opens take the same path.
    await (await Instance.open(dir)).close();
    const results = await Promise.allSettled([Instance.open(dir), Instance.open(dir)]);
    const opened = results.filter((r): r is PromiseFulfilledResult<Instance> => r.status === 'fulfilled').map((r) => r.value);
    for (const i of opened) await i.close().catch(() => undefined);
    expect(opened.length, 'instances that opened the same directory at once').to.equal(1);
  });
});
