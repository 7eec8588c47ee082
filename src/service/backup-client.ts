/**
 * The client side of the backup socket (protocol.ts): send one request,
 * pass status replies to a callback, resolve with the result or reject with
 * the server's JetError.
 */
import { connect } from 'node:net';
import { JetError, errName, type JetErrName } from '../errors.js';
import type { BackupProgress } from '../backup/options.js';
import { LineSplitter, MAX_REPLY_BYTES, type Reply, type Request } from './protocol.js';

type RequestBody = Request extends infer R ? (R extends Request ? Omit<R, 'id'> : never) : never;

export function requestOverSocket<T>(socketPath: string, body: RequestBody, onStatus?: (snp: number, snt: number, p?: BackupProgress) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const conn = connect(socketPath);
    const splitter = new LineSplitter(MAX_REPLY_BYTES);
    let settled = false;
    const finish = (f: () => void) => {
      if (settled) return;
      settled = true;
      conn.end();
      f();
    };
    conn.setEncoding('utf8');
    conn.on('connect', () => conn.write(`${JSON.stringify({ id: 1, ...body })}\n`));
    conn.on('error', (e) => finish(() => reject(new JetError('JET_errFileAccessDenied', `cannot talk to the instance at ${socketPath}: ${e.message}`, { cause: e }))));
    conn.on('close', () => finish(() => reject(new JetError('JET_errInstanceUnavailable', `the instance closed the connection at ${socketPath} before answering`))));
    conn.on('data', (chunk: string) => {
      const lines = splitter.push(chunk);
      if (lines === 'overflow') return finish(() => reject(new JetError('JET_errInvalidParameter', 'reply too long')));
      for (const line of lines) {
        let r: Reply;
        try {
          r = JSON.parse(line) as Reply;
        } catch {
          return finish(() => reject(new JetError('JET_errInvalidParameter', `the instance at ${socketPath} sent a reply that is not JSON`)));
        }
        if (r.type === 'status') onStatus?.(r.snp, r.snt, r.progress);
        else if (r.type === 'result') return finish(() => resolve(r.result as T));
        else {
          const name = (errName(r.err) ?? 'JET_errDiskIO') as JetErrName;
          return finish(() => reject(new JetError(name, r.message)));
        }
      }
    });
  });
}
