/**
 * Crash tests: run a writer child process that prints "ready K" once it is
 * up and "ok K" after each commit returns, and SIGKILL it at a chosen moment.
 */
import { spawn } from 'node:child_process';

export type Kill = { afterReadyMs: number } | { afterSpawnMs: number };

/**
 * Run `script` (TypeScript, through tsx) with `args`, kill it as `kill` says.
 * Resolves to the K it reported ready at and the highest K it acknowledged,
 * both undefined when it was killed before it was ready. Rejects when it
 * exits by itself.
 */
export function runAndKill(script: string, args: string[], kill: Kill): Promise<{ start?: number; acked?: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let start: number | undefined;
    let acked: number | undefined;
    if ('afterSpawnMs' in kill) setTimeout(() => child.kill('SIGKILL'), kill.afterSpawnMs);
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
          if ('afterReadyMs' in kill) setTimeout(() => child.kill('SIGKILL'), kill.afterReadyMs);
        } else if (word === 'ok') {
          acked = Math.max(acked ?? 0, Number(n));
        }
      }
    });
    child.stderr.on('data', (c) => { err += String(c); });
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve({ start, acked });
      else reject(new Error(`${script} exited with ${code ?? signal} before being killed: ${err}`));
    });
  });
}
