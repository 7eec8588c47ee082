import { expect } from 'chai';
import { stat } from 'node:fs/promises';
import { connect } from 'node:net';
import * as path from 'node:path';
import { JET_sntBegin, JET_sntComplete, type BackupResult } from '../../src/backup/options.js';
import { Instance } from '../../src/engine/instance.js';
import { requestOverSocket } from '../../src/service/backup-client.js';
import type { InstanceSummary } from '../../src/service/protocol.js';
import { restore } from '../../src/restore/restore.js';
import { expectJetError } from '../helpers/engine.js';
import { removeTmpDirs, tmpDir } from '../helpers/tmp-dir.js';

/** Send raw bytes, collect reply lines until `n` arrived or the server closed the connection. */
function raw(socket: string, bytes: string, n: number): Promise<{ lines: string[]; closed: boolean }> {
  return new Promise((resolve) => {
    const c = connect(socket);
    let buf = '';
    const lines: string[] = [];
    c.setEncoding('utf8');
    c.on('connect', () => c.write(bytes));
    c.on('data', (d: string) => {
      buf += d;
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) { lines.push(buf.slice(0, i)); buf = buf.slice(i + 1); }
      if (lines.length >= n) { c.destroy(); resolve({ lines, closed: false }); }
    });
    c.on('close', () => resolve({ lines, closed: true }));
    c.on('error', () => undefined);
  });
}

describe('service/backup-server: online backups over the instance socket', function () {
  this.timeout(60_000);
  let inst: Instance | undefined;
  afterEach(async () => { await inst?.close(); inst = undefined; await removeTmpDirs(); });

  async function running(): Promise<{ dir: string; socket: string }> {
    const dir = await tmpDir('serve-');
    inst = await Instance.open(dir, { logFileSize: 64 * 1024, pageSize: 4096 });
    const db = await inst.openDatabase('main.edb', { create: true });
    for (let i = 0; i < 500; i++) await db.put('t', `k${i}`, `v${i}`, { durable: false });
    return { dir, socket: await inst.serveBackups() };
  }

  it('listens on <dir>/esebackup.sock, owner-only', async () => {
    const { dir, socket } = await running();
    expect(socket).to.equal(path.join(dir, 'esebackup.sock'));
    expect((await stat(socket)).mode & 0o777).to.equal(0o600);
  });

  it('runs a backup for a client, streaming status, and the backup restores', async () => {
    const { socket } = await running();
    const bk = await tmpDir('serve-bk-');
    const snts: number[] = [];
    const r = await requestOverSocket<BackupResult>(socket, { op: 'backup', path: bk, grbit: 0, options: { workers: 1 } }, (_snp, snt) => snts.push(snt));
    expect(r.type).to.equal('full');
    expect(snts[0]).to.equal(JET_sntBegin);
    expect(snts[snts.length - 1]).to.equal(JET_sntComplete);
    const out = await tmpDir('serve-out-');
    await restore(bk, out);
    const copy = await Instance.open(out, { logFileSize: 64 * 1024, pageSize: 4096 });
    try {
      const rows: string[] = [];
      for await (const { key } of (await copy.openDatabase('main.edb')).range('t')) rows.push(key.toString());
      expect(rows).to.have.length(500);
    } finally {
      await copy.close();
    }
  });

  it('passes the engine error of a failed request back as a JetError', async () => {
    const { dir } = await running();
    await expectJetError(requestOverSocket(path.join(dir, 'esebackup.sock'), { op: 'backup', path: path.join(dir, 'missing'), grbit: 0 }), 'JET_errInvalidPath');
  });

  it('answers garbage with error replies and keeps serving; a too-long line closes only that connection', async () => {
    const { socket } = await running();
    const bad = await raw(socket, 'not json\n{"id":9,"op":"nope"}\n', 2);
    expect(bad.lines.map((l) => (JSON.parse(l) as { id: number }).id)).to.deep.equal([0, 9]);
    expect(bad.lines.every((l) => (JSON.parse(l) as { err: number }).err === -1003)).to.equal(true);
    const long = await raw(socket, `${'x'.repeat(100 * 1024)}\n`, 2);
    expect(long.closed).to.equal(true);
    expect(long.lines).to.have.length(1);
    const info = await requestOverSocket<InstanceSummary>(socket, { op: 'info' });
    expect(info.databases.map((d) => d.name)).to.deep.equal(['main.edb']);
    expect(info.pid).to.equal(process.pid);
  });

  it('a client that disconnects mid-backup aborts that backup and leaves its destination empty', async () => {
    const { socket } = await running();
    const bk = await tmpDir('serve-abort-');
    const ended = new Promise<{ err: unknown }>((resolve) => inst!.on('event', (e) => { if (e.type === 'backup-end') resolve(e as never); }));
    const c = connect(socket);
    c.on('error', () => undefined);
    c.write(`${JSON.stringify({ id: 1, op: 'backup', path: bk, grbit: 0, options: { rateBytesPerSec: 64 * 1024 } })}\n`);
    c.once('data', () => c.destroy()); // the first status reply: the backup is running
    expect((await ended).err).to.equal(-800);
    const { readdir } = await import('node:fs/promises');
    expect(await readdir(bk)).to.deep.equal([]);
  });

  it('removes the socket at close', async () => {
    const { socket } = await running();
    await inst!.close();
    inst = undefined;
    const { access } = await import('node:fs/promises');
    await access(socket).then(() => expect.fail('socket still there'), () => undefined);
  });
});
