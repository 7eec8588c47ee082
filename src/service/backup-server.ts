/**
 * Online backups of a running instance from another process: the instance
 * listens on a Unix domain socket in its directory (owner-only, 0600) and
 * runs the backup / truncate / info requests of protocol.ts in-process,
 * streaming status back. The CLI finds the socket when the instance
 * directory is locked by a live process.
 *
 * CONCURRENCY NOTES
 * - Each connection handles its requests one at a time, in order; requests
 *   on different connections run concurrently, and the instance itself
 *   refuses a second backup (JET_errBackupInProgress).
 * - A connection that closes aborts the backup it started (AbortController).
 */
import { chmod, unlink } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import * as path from 'node:path';
import { JetError } from '../errors.js';
import type { Instance } from '../engine/instance.js';
import { LineSplitter, SOCKET_NAME, parseRequest, type InstanceSummary, type Reply, type Request } from './protocol.js';

export interface BackupServer {
  readonly path: string;
  close(): Promise<void>;
}

function send(conn: Socket, r: Reply): void {
  if (!conn.destroyed) conn.write(`${JSON.stringify(r)}\n`);
}

function sendError(conn: Socket, id: number, e: unknown): void {
  const j = e instanceof JetError ? e : new JetError('JET_errInvalidParameter', String((e as Error)?.message ?? e));
  send(conn, { id, type: 'error', err: j.err, errName: j.errName, message: j.detail });
}

/** What `info` answers: the instance's databases, state and log generations. */
export async function instanceSummary(inst: Instance): Promise<InstanceSummary> {
  const info = await inst.getLogInfo();
  return {
    dir: inst.params.dir, state: inst.state, pid: process.pid,
    databases: inst.databases().map((d) => ({ name: d.name, pages: d.pageCount })),
    generations: { lowest: info.lowestGeneration, current: info.currentGeneration, checkpoint: info.checkpoint.gen },
  };
}

async function run(inst: Instance, conn: Socket, req: Request, signal: AbortSignal): Promise<void> {
  try {
    if (req.op === 'info') {
      send(conn, { id: req.id, type: 'result', result: await instanceSummary(inst) });
      return;
    }
    const status = (snp: number, snt: number, progress?: object) => send(conn, { id: req.id, type: 'status', snp, snt, progress: progress as never });
    const result = req.op === 'backup'
      ? await inst.backup(req.path, req.grbit, status, { ...req.options, signal })
      : await inst.backup(null, 0, status, { signal });
    send(conn, { id: req.id, type: 'result', result });
  } catch (e) {
    sendError(conn, req.id, e);
  }
}

function handle(inst: Instance, conn: Socket): void {
  const abort = new AbortController();
  const splitter = new LineSplitter();
  let queue = Promise.resolve();
  let closing = false;
  conn.setEncoding('utf8');
  conn.on('close', () => abort.abort(new JetError('errBackupAbortByCaller', 'the client disconnected')));
  conn.on('error', () => undefined); // a reset by the client ends up in 'close'
  conn.on('data', (chunk: string) => {
    const lines = splitter.push(chunk);
    if (lines === 'overflow') {
      if (closing) return;
      closing = true;
      sendError(conn, 0, new JetError('JET_errInvalidParameter', 'request line too long; closing the connection'));
      // Its framing cannot be trusted any more: close it, whatever the client does.
      conn.end(() => conn.destroy());
      setTimeout(() => conn.destroy(), 1000).unref();
      return;
    }
    for (const line of lines) {
      const p = parseRequest(line);
      if (!p.ok) {
        sendError(conn, p.id, new JetError('JET_errInvalidParameter', p.message));
        continue;
      }
      queue = queue.then(() => run(inst, conn, p.request, abort.signal));
    }
  });
}

export async function serveBackups(inst: Instance, socketPath?: string): Promise<BackupServer> {
  const file = socketPath ?? path.join(inst.params.dir, SOCKET_NAME);
  // We hold the instance lock, so a socket file here is a crashed holder's leftover.
  await unlink(file).catch(() => undefined);
  const conns = new Set<Socket>();
  // No half-open connections: a client's end (FIN) is how a killed CLI shows, and it must abort its
  // backup at once; so a client that half-closes after its request (nc -U) gets no answer.
  const server: Server = createServer((c) => {
    conns.add(c);
    c.on('close', () => conns.delete(c));
    handle(inst, c);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(file, () => { server.off('error', reject); resolve(); });
  });
  // The socket is created 0777 & ~umask; connecting needs write permission, so with the usual umask
  // only the owner can connect even before this chmod narrows it to owner-only.
  await chmod(file, 0o600);
  let closed = false;
  return {
    path: file,
    async close() {
      if (closed) return;
      closed = true;
      for (const c of conns) c.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await unlink(file).catch(() => undefined);
    },
  };
}
