/**
 * Running the real CLI as a child process: `node dist/src/cli/main.js ...`,
 * the compiled build, exactly as `npx esebackup` runs it. ensureBuilt()
 * compiles once per test run (tsc) when dist is older than the sources.
 */
import { spawn } from 'node:child_process';
import { readdir, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { Instance } from '../../src/engine/instance.js';
import type { InstanceParams } from '../../src/engine/params.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const MAIN = path.join(ROOT, 'dist', 'src', 'cli', 'main.js');

async function newestMtime(dir: string): Promise<number> {
  let newest = 0;
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, await newestMtime(p));
    else if (e.name.endsWith('.ts')) newest = Math.max(newest, (await stat(p)).mtimeMs);
  }
  return newest;
}

function run(cmd: string, args: string[], cwd: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c) => { out += String(c); });
    child.stderr.on('data', (c) => { out += String(c); });
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code: code ?? -1, out }));
  });
}

let built: Promise<void> | undefined;

/** Compile (tsc -p .) once, if dist/src/cli/main.js is missing or older than any source. Call from before() with a long timeout. */
export function ensureBuilt(): Promise<void> {
  built ??= (async () => {
    const src = Math.max(await newestMtime(path.join(ROOT, 'src')), await newestMtime(path.join(ROOT, 'workers')));
    const dist = await stat(MAIN).then((s) => s.mtimeMs, () => 0);
    if (dist >= src) return;
    const r = await run(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', '.'], ROOT);
    if (r.code !== 0) throw new Error(`tsc failed (${r.code}):\n${r.out}`);
  })();
  return built;
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Run `esebackup <args>`; resolves when it exits (never rejects on a non-zero exit). */
export function cli(args: string[], options: { timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [MAIN, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => { stdout += c; });
    child.stderr.setEncoding('utf8').on('data', (c: string) => { stderr += c; });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: performance.now() - t0 });
    });
  });
}

/** Every stdout line parsed as JSON (fails the test when a line is not JSON). */
export function jsonLines(r: CliResult): Record<string, any>[] {
  const lines = r.stdout.split('\n').filter((l) => l.length > 0);
  return lines.map((l) => {
    try {
      return JSON.parse(l) as Record<string, any>;
    } catch {
      throw new Error(`stdout line is not JSON: ${l.slice(0, 200)}\nstderr: ${r.stderr}`);
    }
  });
}

/** The --json contract: only JSON objects on stdout, the last one {"type":"result"}; returns [events, result]. */
export function jsonOutput(r: CliResult, command: string): [Record<string, any>[], Record<string, any>] {
  const objs = jsonLines(r);
  expect(objs.length, `no JSON on stdout; stderr: ${r.stderr}`).to.be.greaterThan(0);
  for (const o of objs) expect(o).to.be.an('object').with.property('type').that.is.a('string');
  const result = objs[objs.length - 1]!;
  expect(result.type).to.equal('result');
  expect(result.command).to.equal(command);
  expect(objs.slice(0, -1).every((o) => o.type !== 'result'), 'exactly one result object, last').to.equal(true);
  return [objs.slice(0, -1), result];
}

/** The one-line JET error on stderr (its last line), checked against the format; returns the line. */
export function expectJetErrorLine(r: CliResult, errName: string): string {
  expect(r.code, `exit code; stderr: ${r.stderr}`).to.equal(1);
  const lines = r.stderr.trimEnd().split('\n');
  const last = lines[lines.length - 1]!;
  expect(last).to.match(new RegExp(`^esebackup: ${errName} \\(-\\d+\\): \\S`));
  return last;
}

export function expectUsageError(r: CliResult, pattern?: RegExp): void {
  expect(r.code, `exit code; stderr: ${r.stderr}`).to.equal(2);
  expect(r.stdout).to.equal('');
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines, r.stderr).to.have.length(1);
  expect(lines[0]).to.match(/^esebackup: usage error: /);
  if (pattern) expect(lines[0]).to.match(pattern);
}

export const SMALL_PARAMS = { pageSize: 4096, logFileSize: 128 * 1024, createPathIfNotExist: true } satisfies InstanceParams;

/** An instance closed cleanly, with non-default page and log sizes: `rows` rows in a.edb (table t1), one in b.edb. */
export async function makeInstance(dir: string, rows = 500, params: InstanceParams = SMALL_PARAMS): Promise<void> {
  const inst = await Instance.open(dir, params);
  try {
    const a = await inst.openDatabase('a.edb', { create: true });
    const b = await inst.openDatabase('b.edb', { create: true });
    for (let i = 0; i < rows; i += 250) {
      await a.transaction(async (tx) => {
        for (let j = i; j < Math.min(rows, i + 250); j++) await tx.put('t1', `k${String(j).padStart(6, '0')}`, `value ${j} `.repeat(1 + (j % 20)));
      }, { durable: false });
    }
    await b.put('t2', 'only', 'row');
  } finally {
    await inst.close();
  }
}

/** Rows `makeInstance` wrote, as dump prints them (sorted by key within a table). */
export function expectedDump(rows: number): { db: string; table: string; key: string; value: string }[] {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const out = [];
  for (let j = 0; j < rows; j++) out.push({ db: 'a.edb', table: 't1', key: b64(`k${String(j).padStart(6, '0')}`), value: b64(`value ${j} `.repeat(1 + (j % 20))) });
  out.push({ db: 'b.edb', table: 't2', key: b64('only'), value: b64('row') });
  return out;
}
