import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { Instance } from '../../src/engine/instance.js';
import { CRASH_PAGES, CRASH_PARAMS, expectedStamps } from '../fixtures/crash-model.js';
import { readStamp } from '../helpers/engine.js';
import { removeTmpDirs, tmpDir } from '../helpers/tmp-dir.js';

const CHILD = new URL('../fixtures/crash-writer.ts', import.meta.url).pathname;

/** Run the writer child, kill it with SIGKILL `afterMs` after it is ready; resolves to the highest k it acknowledged. */
function runAndKill(dir: string, writers: number, afterMs: number): Promise<{ start: number; acked: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dir, String(writers)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let start = -1;
    let acked = 0;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      out += chunk;
      let nl: number;
      while ((nl = out.indexOf('\n')) >= 0) {
        const [word, n] = out.slice(0, nl).split(' ');
        out = out.slice(nl + 1);
        if (word === 'ready') {
          start = Number(n);
          acked = start;
          setTimeout(() => child.kill('SIGKILL'), afterMs);
        } else if (word === 'ok') {
          acked = Math.max(acked, Number(n));
        }
      }
    });
    child.stderr.on('data', (c) => { err += String(c); });
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL' && start >= 0) resolve({ start, acked });
      else reject(new Error(`crash writer exited with ${code ?? signal} before being killed: ${err}`));
    });
  });
}

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
      const { start, acked } = await runAndKill(dir, writers, 20 + Math.floor(nextRandom() * 300));
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
