import { expect } from 'chai';
import { Instance } from '../../src/engine/instance.js';
import { CRASH_PAGES, CRASH_PARAMS, expectedStamps } from '../fixtures/crash-model.js';
import { readStamp } from '../helpers/engine.js';
import { runAndKill } from '../helpers/kill-child.js';
import { removeTmpDirs, tmpDir } from '../helpers/tmp-dir.js';

const CHILD = new URL('../fixtures/crash-writer.ts', import.meta.url).pathname;

describe('crash recovery (SIGKILL)', function () {
  this.timeout(process.env.SOAK ? 0 : 180_000);
  afterEach(removeTmpDirs);

  // npm run test:soak kills it 200 times instead.
  const rounds = process.env.SOAK ? 200 : 24;

  it(`recovers exactly the acknowledged transactions after each of ${rounds} kills at random moments`, async () => {
    const dir = await tmpDir();
    let random = 12345;
    const nextRandom = () => (random = (random * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    let recoveredTotal = 0;
    for (let round = 0; round < rounds; round++) {
      const writers = round % 3 === 0 ? 1 : 4; // serial commits and group commits
      const run = await runAndKill(CHILD, [dir, String(writers)], { afterReadyMs: 20 + Math.floor(nextRandom() * 300) });
      if (run.start === undefined || run.acked === undefined) throw new Error('the writer was killed before it was ready');
      const { start, acked } = run as { start: number; acked: number };
      const inst = await Instance.open(dir, CRASH_PARAMS);
      const db = await inst.openDatabase('crash.edb');
      const last = await readStamp(db, 1);
      // Every acknowledged commit is there; at most the `writers` commits that
      // were durable but not yet acknowledged when the kill came may be too.
      expect(last, `round ${round}: last committed k`).to.be.at.least(acked);
      expect(last, `round ${round}: last committed k`).to.be.at.most(acked + writers);
      expect(last).to.be.at.least(start);
      const expected = expectedStamps(last);
      for (let pgno = 1; pgno <= CRASH_PAGES; pgno++) {
        expect(await readStamp(db, pgno), `round ${round}, page ${pgno}`).to.equal(expected[pgno]);
      }
      recoveredTotal += inst.recovery?.transactionsRedone ?? 0;
      await inst.close();
    }
    // The kills must really have landed mid-work, with transactions to redo.
    expect(recoveredTotal).to.be.greaterThan(0);
  });
});
