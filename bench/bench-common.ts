/**
 * What bench/backup.ts and bench/restore.ts share: argument parsing, number
 * helpers, child processes, the result table, the environment lines, the
 * temp root (removed on Ctrl-C) and the entry point.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp, statfs } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32cImplementation } from '../src/checksum/crc32c.js';

export const GiB = 1024 ** 3;
export const MiB = 1024 ** 2;

// ---- arguments --------------------------------------------------------------

/** `name`: the bench's name in messages (`backup`); `flags`: the usage line's flags. */
export function usageFor(name: string, flags: string): (why?: string) => never {
  return (why?: string): never => {
    process.stderr.write(`${why ? `${name} bench: ${why}\n` : ''}usage: node dist/bench/${name}.js ${flags}\n`);
    process.exit(2);
  };
}

/**
 * `--json`, `--help`/`-h` and `--<flag> V` / `--<flag>=V` for each of `flags`,
 * every value a positive number, a whole one where `whole(flag)`.
 */
export function parseFlags(argv: string[], flags: string[], whole: (flag: string) => boolean, usage: (why?: string) => never): { n: Record<string, number>; json: boolean } {
  const n: Record<string, number> = {};
  let json = false;
  const re = new RegExp(`^--(${flags.join('|')})(?:=(.*))?$`);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--json') { json = true; continue; }
    if (a === '--help' || a === '-h') usage();
    const m = re.exec(a);
    if (!m) usage(`unknown argument ${a}`);
    const v = Number(m[2] ?? argv[++i]);
    if (!Number.isFinite(v) || v <= 0) usage(`--${m[1]} needs a positive number`);
    if (whole(m[1]!) && !Number.isInteger(v)) usage(`--${m[1]} needs a whole number`);
    n[m[1]!] = v;
  }
  return { n, json };
}

// ---- helpers ------------------------------------------------------------------

export const round = (x: number, d: number): number => Math.round(x * 10 ** d) / 10 ** d;
export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
export const best = (xs: number[]): number => Math.min(...xs);
export const gbps = (bytes: number, ms: number): number => round(bytes / 1e9 / (ms / 1000), 3);
export const mib = (bytes: number): number => round(bytes / MiB, 1);

export const live = new Set<ChildProcess>();

/** Run a command; resolve to its stdout, reject on a non-zero exit. */
export function run(cmd: string, argv: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
    live.add(child);
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; });
    child.on('error', (e) => { live.delete(child); reject(e); });
    child.on('close', (code, sig) => {
      live.delete(child);
      if (code === 0) resolve(out);
      else reject(new Error(`${path.basename(argv[0] ?? cmd)} exited with ${code ?? sig}`));
    });
  });
}

/** Runs the script `name` (.ts or .js, as the caller `url` is) next to `url` with a spec; resolves to its last stdout line, parsed. */
export function childRunner<Spec>(url: string, name: string): <T>(spec: Spec) => Promise<T> {
  const script = fileURLToPath(new URL(`./${name}${url.endsWith('.ts') ? '.ts' : '.js'}`, url));
  return async <T>(spec: Spec): Promise<T> => {
    const out = await run(process.execPath, [...process.execArgv, script, JSON.stringify(spec)]);
    return JSON.parse(out.trim().split('\n').pop()!) as T;
  };
}

// ---- report -------------------------------------------------------------------

const rows: string[][] = [];
export function row(what: string, result: string, target = '', ok?: boolean): void {
  rows.push([what, result, target, ok === undefined ? '' : ok ? 'ok' : 'MISSED']);
}
export function table(): string {
  const w = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i < 3 ? c.padEnd(w[i]!) : c)).join('  ').trimEnd()).join('\n');
}

export const FS_TYPES: Record<number, string> = {
  0xef53: 'ext2/3/4', 0x58465342: 'xfs', 0x9123683e: 'btrfs', 0x01021994: 'tmpfs', 0x2fc12fc1: 'zfs', 0x794c7630: 'overlayfs',
};

// ---- main -----------------------------------------------------------------------

/** The temp dir's file system and free bytes. */
export async function tmpSpace(): Promise<{ fsType: string; free: number }> {
  const sfs = await statfs(tmpdir());
  return { fsType: FS_TYPES[sfs.type] ?? `0x${sfs.type.toString(16)}`, free: sfs.bavail * sfs.bsize };
}

/** The machine, said in two lines; returned for the JSON. */
export function environment(fsType: string, say: (line: string) => void) {
  const env = {
    crc32c: crc32cImplementation(), node: process.version, cpu: cpus()[0]?.model ?? 'unknown', cpus: availableParallelism(),
    memGiB: round(totalmem() / GiB, 1), tmpdir: tmpdir(), fsType, loadavgStart: loadavg().map((x) => round(x, 2)),
  };
  say(`crc32c implementation: ${env.crc32c}`);
  say(`node ${env.node}, ${env.cpus} x ${env.cpu}, ${env.memGiB} GiB RAM, load ${env.loadavgStart.join(' ')}`);
  return env;
}

/** A new directory under the temp dir; on SIGINT or SIGTERM the children are killed and it is removed. */
export async function tempRoot(prefix: string): Promise<string> {
  const root = await mkdtemp(path.join(tmpdir(), prefix));
  const cleanup = (sig: NodeJS.Signals): void => {
    for (const c of live) c.kill(sig);
    rmSync(root, { recursive: true, force: true });
    process.exit(130);
  };
  process.once('SIGINT', cleanup).once('SIGTERM', cleanup);
  return root;
}

/** The table and the closing load average; returns that load average. */
export function sayTable(say: (line: string) => void): number[] {
  const loadavgEnd = loadavg().map((x) => round(x, 2));
  say('');
  say(table());
  say(`load average at the end: ${loadavgEnd.join(' ')}`);
  return loadavgEnd;
}

/** Runs `main`; a failure is printed (`<name> bench: ...`) and exits 1. */
export function runMain(name: string, main: () => Promise<void>): void {
  main().catch((e) => {
    console.error(`${name} bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    process.exit(1);
  });
}
