/**
 * Online backups of running instances through the CLI: a child process
 * (test/fixtures/cli-holder.ts) holds an instance with writers committing
 * and serves backups on <dir>/esebackup.sock; the CLI backs it up through
 * the socket and the restored set is consistent. A second holder that does
 * not serve is refused with the clear JET_errFileAccessDenied. Garbage on
 * the socket gets error replies and the holder keeps serving; a CLI killed
 * mid-backup aborts that backup in the holder.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { connect } from 'node:net';
import * as path from 'node:path';
import { expect } from 'chai';
import { Instance } from '../../src/engine/instance.js';
import { logKey } from '../fixtures/backup-model.js';
import { removeTmpDirs, tmpDir } from '../helpers/tmp-dir.js';
import { MAIN, ROOT, cli, ensureBuilt, expectJetErrorLine, jsonLines, jsonOutput } from './cli-helpers.js';

const HOLDER = path.join(ROOT, 'test', 'fixtures', 'cli-holder.ts');
const PRELOAD = 2000;

interface Holder {
  child: ChildProcess;
  pid: number;
  acked: number;
  stderr: () => string;
  /** End its stdin (it stops the writers and closes the instance); resolves to its exit code. */
  stop(): Promise<number | null>;
}

function startHolder(dir: string, mode: 'serve' | 'noserve'): Promise<Holder> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', HOLDER, dir, mode, String(PRELOAD)], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    child.stderr!.setEncoding('utf8').on('data', (c: string) => { err += c; });
    child.stdout!.setEncoding('utf8').on('data', (c: string) => {
      out += c;
      const nl = out.indexOf('\n');
      if (nl < 0 || !out.startsWith('{"ready"')) return;
      const ready = JSON.parse(out.slice(0, nl)) as { pid: number; acked: number };
      out = out.slice(nl + 1);
      resolve({
        child, pid: ready.pid, acked: ready.acked, stderr: () => err,
        stop: () => {
          child.stdin!.end();
          return exited;
        },
      });
    });
    void exited.then((code) => reject(new Error(`holder exited (${code}) before it was ready: ${err}`)));
  });
}

/** Send `data` on a fresh connection; collect reply lines until `lines` arrived or the server closed. */
function exchange(sock: string, data: string | Buffer, lines: number): Promise<{ replies: Record<string, any>[]; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const c = connect(sock);
    let buf = '';
    const replies: Record<string, any>[] = [];
    const timer = setTimeout(() => { c.destroy(); reject(new Error(`no ${lines} replies in time; got ${JSON.stringify(replies)}`)); }, 10_000);
    const done = (closed: boolean) => {
      clearTimeout(timer);
      c.destroy();
      resolve({ replies, closed });
    };
    c.setEncoding('utf8');
    c.on('connect', () => c.write(data));
    c.on('error', () => undefined); // a reset after our oversized write: the close event follows
    c.on('data', (chunk: string) => {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        replies.push(JSON.parse(buf.slice(0, nl)) as Record<string, any>);
        buf = buf.slice(nl + 1);
      }
      if (replies.length >= lines) done(false);
    });
    c.on('close', () => done(true));
  });
}

describe('esebackup on running instances (through esebackup.sock)', function () {
  this.timeout(60_000);
  let root: string;
  let served: string;
  let unserved: string;
  let a: Holder;
  let b: Holder | undefined;

  before(async function () {
    this.timeout(300_000);
    await ensureBuilt();
    root = await tmpDir('esebackup-online-');
    served = path.join(root, 'served');
    unserved = path.join(root, 'unserved');
    [a, b] = await Promise.all([startHolder(served, 'serve'), startHolder(unserved, 'noserve')]);
  });

  after(async () => {
    b?.child.kill('SIGKILL');
    if (a && a.child.exitCode === null) await a.stop();
    await removeTmpDirs();
  });

  it('backs up a running instance through its socket while its writers commit; the restore is consistent', async () => {
    const set = path.join(root, 'set');
    const r = await cli(['backup', served, set, '--json']);
    expect(r.code, r.stderr).to.equal(0);
    const [events, result] = jsonOutput(r, 'backup');
    expect(events[0]).to.include({ type: 'instance', mode: 'socket', pid: a.pid });
    expect(events.filter((e) => e.type === 'note')).to.have.length(1);
    expect(events.filter((e) => e.type === 'status').length).to.be.greaterThan(1);
    expect(result).to.include({ ok: true, mode: 'socket' });
    expect(result.backup.type).to.equal('full');
    expect(result.backup.databases.map((d: { name: string }) => d.name)).to.deep.equal(['main.edb']);

    const inc = await cli(['backup', served, set, '--incremental']);
    expect(inc.code, inc.stderr).to.equal(0);
    expect(inc.stderr).to.match(/open in process \d+: working through its socket/);

    const v = await cli(['verify', set, '--drill', '--json']);
    expect(v.code, v.stderr).to.equal(0);
    expect(jsonOutput(v, 'verify')[1].drill.ok).to.equal(true);

    const dest = path.join(root, 'restored');
    const rr = await cli(['restore', set, dest, '--json']);
    expect(rr.code, rr.stderr).to.equal(0);
    const { params } = jsonOutput(rr, 'restore')[1].restore;
    // Consistent: every transaction writes state/a, b, c and last = its number, so a torn one would show.
    const inst = await Instance.open(dest, params);
    try {
      const db = await inst.openDatabase('main.edb');
      const st = await Promise.all(['a', 'b', 'c', 'last'].map(async (k) => (await db.get('state', k))!.readUInt32BE(0)));
      const last = st[3]!;
      expect(st).to.deep.equal([last, last, last, last]);
      expect(last).to.be.at.least(a.acked); // what was acknowledged before the backup began is in it
      expect(await db.get('log', logKey(last))).to.not.equal(undefined);
      let rows = 0;
      for await (const _ of db.range('rows')) rows++;
      expect(rows).to.equal(PRELOAD);
    } finally {
      await inst.close();
    }
  });

  it('info goes through the socket; dump and verify of a running instance are refused', async () => {
    const i = await cli(['info', served, '--json']);
    expect(i.code, i.stderr).to.equal(0);
    const info = jsonOutput(i, 'info')[1].info;
    expect(info.live).to.include({ pid: a.pid, state: 'running' });
    expect(info.lock).to.include({ pid: a.pid, live: true });
    expect(info.databases[0]).to.include({ name: 'main.edb', state: 'dirty-shutdown' });
    const [d, v] = await Promise.all([cli(['dump', served]), cli(['verify', served])]);
    expect(expectJetErrorLine(d, 'JET_errFileAccessDenied')).to.include('close the instance first');
    expect(d.stdout).to.equal('');
    expectJetErrorLine(v, 'JET_errFileAccessDenied');
  });

  it('an instance held without the socket is refused with a message saying how to enable it', async () => {
    const [bk, info, bulk] = await Promise.all([
      cli(['backup', unserved, path.join(root, 'never')]),
      cli(['info', unserved]),
      cli(['bulk', '--dest', path.join(root, 'bulk'), unserved]),
    ]);
    const line = expectJetErrorLine(bk, 'JET_errFileAccessDenied');
    expect(line).to.include(`process ${b!.pid}`).and.include('instance.serveBackups()');
    expect(bk.stderr.trimEnd().split('\n')).to.have.length(1);
    expect(expectJetErrorLine(info, 'JET_errFileAccessDenied')).to.include('instance.serveBackups()');
    expect(bulk.code).to.equal(1);
    expect(bulk.stdout).to.match(/FAILED JET_errFileAccessDenied \(-1032\): .*serveBackups/);
  });

  it('garbage on the socket gets error replies; the holder keeps serving', async () => {
    const sock = path.join(served, 'esebackup.sock');
    const bad = await exchange(sock, 'this is not json\n{"id":7,"op":"explode"}\n[1,2]\n{"id":8,"op":"info"}\n', 4);
    expect(bad.replies.map((r) => [r.id, r.type])).to.deep.equal([[0, 'error'], [7, 'error'], [0, 'error'], [8, 'result']]);
    expect(bad.replies[0]!.errName).to.equal('JET_errInvalidParameter');
    const big = await exchange(sock, Buffer.alloc(100 * 1024, 'x'), 1);
    expect(big.replies[0]).to.include({ type: 'error', id: 0 });
    expect(big.replies[0]!.message).to.include('too long');
    const after = await exchange(sock, '{"id":1,"op":"info"}\n', 1);
    expect(after.replies[0]!.result.pid).to.equal(a.pid);
    const i = await cli(['info', served, '--json']);
    expect(i.code, i.stderr).to.equal(0);
    expect(a.child.exitCode).to.equal(null);
  });

  it('a CLI killed mid-backup aborts that backup in the holder, which cleans up and can back up again', async () => {
    const set = path.join(root, 'killed');
    const child = spawn(process.execPath, [MAIN, 'backup', served, set, '--json', '--rate', '100K'], { stdio: ['ignore', 'pipe', 'pipe'] });
    await new Promise<void>((resolve, reject) => {
      let out = '';
      child.stdout!.setEncoding('utf8').on('data', (c: string) => {
        out += c;
        if (/"type":"status".*"snt":0/.test(out)) resolve(); // copying has begun
      });
      child.on('exit', (code) => reject(new Error(`the CLI exited (${code}) before copying: ${out}`)));
    });
    child.kill('SIGKILL');
    const t0 = Date.now();
    while ((await readdir(set)).length > 0 && Date.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 50));
    expect(await readdir(set), 'the aborted backup removed what it wrote').to.deep.equal([]);
    const again = await cli(['backup', served, set, '--json']);
    expect(again.code, again.stderr).to.equal(0);
    expect(jsonLines(again).at(-1)!.backup.type).to.equal('full');
    expect(a.child.exitCode).to.equal(null);
  });

  it('after the holder without the socket dies, the CLI opens the instance itself, recovering it first', async () => {
    b!.child.kill('SIGKILL');
    await new Promise((r) => b!.child.once('exit', r));
    b = undefined;
    const set = path.join(root, 'after-crash');
    const r = await cli(['backup', unserved, set]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr).to.match(/was not shut down cleanly: recovery replayed \d+ generation/);
    expect(r.stdout).to.match(/^full backup of /);
    const v = await cli(['verify', set]);
    expect(v.code, v.stderr).to.equal(0);
  });

  it('the holder that served everything shuts down cleanly', async () => {
    expect(await a.stop(), a.stderr()).to.equal(0);
  });
});
