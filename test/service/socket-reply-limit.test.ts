/**
 * Regression test (found in review; fixed): the server sends the whole BackupResult as one reply line, and the
 * client refuses any line over MAX_MESSAGE_BYTES (64 KiB) with "reply too
 * long". The result grows with the database (one range CRC per range:
 * 8 MiB per range by default, so ~50 GiB and up; far less with a smaller
 * rangePages, which the protocol lets the client choose) and with the
 * generations truncated: a backup that succeeded is reported to the client
 * as failed.
 */
import { expect } from 'chai';
import { mkdir } from 'node:fs/promises';
import * as path from 'node:path';
import type { BackupResult } from '../../src/backup/options.js';
import { Instance } from '../../src/engine/instance.js';
import { requestOverSocket } from '../../src/service/backup-client.js';
import { growPages } from '../helpers/engine.js';
import { removeTmpDirs, tmpDir } from '../helpers/tmp-dir.js';

describe('socket reply size', function () {
  this.timeout(120_000);
  afterEach(removeTmpDirs);

  it('a successful backup with many ranges is reported as a success', async () => {
    const dir = await tmpDir('review-reply-');
    const inst = await Instance.open(dir, { logFileSize: 1024 * 1024, pageSize: 4096 });
    try {
      const db = await inst.openDatabase('main.edb', { create: true });
      for (let i = 0; i < 16; i++) await growPages(inst, db, 500, false);
      await inst.checkpoint();
      const socket = await inst.serveBackups();
      const bdir = path.join(await tmpDir('review-reply-bk-'), 'b');
      await mkdir(bdir);
      const outcome = await requestOverSocket<BackupResult>(socket, { op: 'backup', path: bdir, grbit: 0, options: { rangePages: 1 } })
        .then((r) => `ok: ${r.databases[0]!.rangeCrcs.length} ranges`, (e: Error) => `client error: ${e.message}`);
      expect(outcome, outcome).to.match(/^ok/);
    } finally {
      await inst.close();
    }
  });
});
