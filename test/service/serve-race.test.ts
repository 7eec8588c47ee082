/**
 * Regression test (found in review; fixed): instance.serveBackups() does `this.backupServer ??= await serveBackups(...)`:
 *  - a close() that starts while serveBackups() is still starting finds no
 *    server to close; the server is assigned afterwards and keeps listening
 *    for a closed instance (the process cannot exit), its socket file left
 *    in the instance directory;
 *  - two concurrent serveBackups(): the second unlinks the first's socket
 *    path and fails with EADDRINUSE (or, with other timings, orphans a server).
 */
import { expect } from 'chai';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { Instance } from '../../src/engine/instance.js';
import { removeTmpDirs, tmpDir } from '../helpers/tmp-dir.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const servers = (): any[] => (process as any)._getActiveHandles().filter((h: any) => h?.constructor?.name === 'Server' && h.listening);

describe('serveBackups racing close() / itself', function () {
  this.timeout(30_000);
  let baseline: Set<unknown>;
  beforeEach(() => { baseline = new Set(servers()); });
  afterEach(async () => {
    for (const s of servers()) if (!baseline.has(s)) s.close(); // what leaked, so mocha can exit
    await removeTmpDirs();
  });

  it('close() right after serveBackups() leaves no socket file and no listening server', async () => {
    const dir = await tmpDir('review-serve-');
    const inst = await Instance.open(dir, { logFileSize: 64 * 1024, pageSize: 4096 });
    const serving = inst.serveBackups();
    await inst.close();
    await serving.catch(() => undefined);
    const leftover = existsSync(path.join(dir, 'esebackup.sock'));
    const listening = servers().filter((s) => !baseline.has(s)).length;
    expect({ leftover, listening }).to.deep.equal({ leftover: false, listening: 0 });
  });

  it('two concurrent serveBackups() both resolve to the one socket', async () => {
    const dir = await tmpDir('review-serve2-');
    const inst = await Instance.open(dir, { logFileSize: 64 * 1024, pageSize: 4096 });
    try {
      const rs = await Promise.allSettled([inst.serveBackups(), inst.serveBackups()]);
      expect(rs.map((r) => (r.status === 'fulfilled' ? 'ok' : String((r.reason as Error).message)))).to.deep.equal(['ok', 'ok']);
    } finally {
      await inst.close();
    }
    expect(servers().filter((s) => !baseline.has(s)).length, 'servers still listening after close()').to.equal(0);
  });
});
