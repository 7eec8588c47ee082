/**
 * The CLI's commands as child processes on the compiled build: exit codes,
 * the one-line stderr errors, the --json contract, and a whole cycle
 * (backup, incremental, info, verify --drill, restore, dump, truncate-logs)
 * on an instance with non-default page and log sizes.
 */
import { cp, mkdir, open, readdir } from 'node:fs/promises';
import * as path from 'node:path';
import { expect } from 'chai';
import { pageOffset } from '../../src/format/page.js';
import { removeTmpDirs, tmpDir } from '../helpers/tmp-dir.js';
import {
  cli, ensureBuilt, expectJetErrorLine, expectUsageError, expectedDump, jsonLines, jsonOutput, makeInstance,
} from './cli-helpers.js';

const ROWS = 600;

describe('esebackup CLI: usage and exit codes', function () {
  this.timeout(60_000);
  before(async function () {
    this.timeout(300_000);
    await ensureBuilt();
  });

  it('--help lists every command and exits 0', async () => {
    const r = await cli(['--help']);
    expect(r.code).to.equal(0);
    for (const c of ['backup', 'bulk', 'restore', 'verify', 'truncate-logs', 'info', 'dump', 'demo']) expect(r.stdout).to.match(new RegExp(`^  ${c} `, 'm'));
    expect(r.stdout).to.include('Exit codes');
    const sub = await cli(['bulk', '--help']);
    expect(sub.code).to.equal(0);
    expect(sub.stdout).to.include('--concurrency <n>').and.include('--dest <root>');
  });

  it('usage errors exit 2 with one line on stderr and nothing on stdout', async () => {
    const runs = await Promise.all([
      cli(['frobnicate']),
      cli(['backup', '/x']),
      cli(['backup', '/x', '/y', '--workers', 'lots']),
      cli(['backup', '/x', '/y', '--incremental', '--atomic']),
      cli(['backup', '/x', '/y', '--jsn']),
      cli(['backup', '/x', '/y', '/z']),
      cli(['bulk', '/x']),
      cli(['restore', '/x', '/y', '--up-to', 'the day before']),
      cli(['info']),
      cli([]),
    ]);
    expectUsageError(runs[0]!, /unknown command 'frobnicate'/);
    expectUsageError(runs[1]!, /missing required argument 'backupDir'/);
    expectUsageError(runs[2]!, /--workers must be an integer from 1 to 256/);
    expectUsageError(runs[3]!, /cannot be used with/);
    expectUsageError(runs[4]!, /unknown option '--jsn'.*--json/);
    expectUsageError(runs[5]!, /too many arguments/);
    expectUsageError(runs[6]!, /--dest <root>/);
    expectUsageError(runs[7]!, /--up-to/);
    expectUsageError(runs[8]!, /info needs a path/);
    expect(runs[9]!.code).to.equal(2); // no command: the help, on stderr
    expect(runs[9]!.stdout).to.equal('');
  });

  it('info --build names the CRC32C implementation and the Node version', async () => {
    const [text, json] = await Promise.all([cli(['info', '--build']), cli(['info', '--build', '--json'])]);
    expect(text.code).to.equal(0);
    expect(text.stdout).to.match(/crc32c: (sse4_crc32|js)/).and.include(process.version);
    const [, result] = jsonOutput(json, 'info');
    expect(result.ok).to.equal(true);
    expect(result.build.crc32c).to.be.oneOf(['sse4_crc32', 'js']);
    expect(result.build.node).to.equal(process.version);
  });
});

describe('esebackup CLI: backup, info, verify, restore, dump, truncate-logs', function () {
  this.timeout(60_000);
  let root: string;
  let inst: string;
  let set: string;

  before(async function () {
    this.timeout(300_000);
    await ensureBuilt();
    root = await tmpDir('esebackup-cli-');
    inst = path.join(root, 'inst');
    set = path.join(root, 'set');
    await makeInstance(inst, ROWS);
  });
  after(removeTmpDirs);

  it('backup --json: events then one result; the instance is opened with its own page and log sizes', async () => {
    const r = await cli(['backup', inst, set, '--json']);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr).to.equal('');
    const [events, result] = jsonOutput(r, 'backup');
    expect(events[0]).to.include({ type: 'instance', instance: inst, mode: 'local' });
    const status = events.filter((e) => e.type === 'status');
    expect(status.length).to.be.greaterThan(1);
    expect(status.every((e) => e.snp === 9 && e.instance === inst)).to.equal(true);
    expect(status[0]!.snt).to.equal(5); // begin
    expect(status[status.length - 1]!.snt).to.equal(6); // complete
    expect(result.ok).to.equal(true);
    expect(result.mode).to.equal('local');
    expect(result.backup.type).to.equal('full');
    expect(result.backup.path).to.equal(set);
    expect(result.backup.databases.map((d: { name: string }) => d.name).sort()).to.deep.equal(['a.edb', 'b.edb']);
    expect(result.backup.pagesVerified).to.be.greaterThan(0);
  });

  it('a second full backup into the same directory: JET_errBackupDirectoryNotEmpty, exit 1, and an error result with --json', async () => {
    const [text, json] = [await cli(['backup', inst, set]), await cli(['backup', inst, set, '--json'])];
    expect(text.stdout).to.equal('');
    expectJetErrorLine(text, 'JET_errBackupDirectoryNotEmpty');
    expectJetErrorLine(json, 'JET_errBackupDirectoryNotEmpty');
    const [, result] = jsonOutput(json, 'backup');
    expect(result.ok).to.equal(false);
    expect(result.error).to.include({ errName: 'JET_errBackupDirectoryNotEmpty', err: -504 });
  });

  it('backup --incremental (text output)', async () => {
    const r = await cli(['backup', inst, set, '--incremental']);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/^incremental backup of .* generations \d+\.\.\d+/);
  });

  it('info of the instance, the set and single files', async () => {
    const [i, s, db, log, junk] = await Promise.all([
      cli(['info', inst, '--json']), cli(['info', set, '--json']), cli(['info', path.join(inst, 'a.edb'), '--json']),
      cli(['info', path.join(inst, 'edb.log'), '--json']), cli(['info', path.join(set, '..'), '--json']),
    ]);
    const [, ri] = jsonOutput(i, 'info');
    expect(ri.info.kind).to.equal('instance');
    expect(ri.info.databases.map((d: { name: string }) => d.name)).to.deep.equal(['a.edb', 'b.edb']);
    for (const d of ri.info.databases) {
      expect(d).to.include({ state: 'clean-shutdown', pageSize: 4096 });
      expect(d.dbSignature).to.match(/^[0-9a-f]{32}$/);
      expect(d.bkinfoFullPrev.genLow).to.be.greaterThan(0);
      expect(d.bkinfoIncPrev.genHigh).to.be.at.least(d.bkinfoFullPrev.genHigh);
    }
    expect(ri.info.logs.current).to.include({ logFileSize: 128 * 1024, pageSize: 4096 });
    expect(ri.info.checkpoint.lgpos.gen).to.be.greaterThan(0);
    const [, rs] = jsonOutput(s, 'info');
    expect(rs.info.kind).to.equal('backup-set');
    expect(rs.info.backups.map((b: { type: string }) => b.type)).to.deep.equal(['full', 'incremental']);
    expect(rs.info.generations.high).to.be.at.least(rs.info.generations.low);
    expect(jsonOutput(db, 'info')[1].info).to.include({ kind: 'database', state: 'clean-shutdown', pageSize: 4096 });
    expect(jsonOutput(log, 'info')[1].info).to.include({ kind: 'log', logFileSize: 128 * 1024 });
    expectJetErrorLine(junk, 'JET_errInvalidPath'); // the tmp root: neither a set nor an instance
    const text = await cli(['info', inst]);
    expect(text.code).to.equal(0);
    expect(text.stdout).to.match(/state: clean-shutdown/).and.match(/bkinfoFullPrev:/);
  });

  it('verify --drill --json on the set; verify of the idle instance', async () => {
    const [v, vi] = await Promise.all([cli(['verify', set, '--drill', '--json']), cli(['verify', inst])]);
    const [, result] = jsonOutput(v, 'verify');
    expect(v.code, v.stderr).to.equal(0);
    expect(result.ok).to.equal(true);
    expect(result.verify).to.include({ kind: 'backup-set', ok: true });
    expect(result.verify.problems).to.deep.equal([]);
    expect(result.drill.ok).to.equal(true);
    expect(result.drill.databases.find((d: { name: string }) => d.name === 'a.edb').rows).to.equal(ROWS);
    expect(vi.code, vi.stderr).to.equal(0);
    expect(vi.stdout).to.match(/^instance .*: ok/);
  });

  it('restore --json, then dump of the restored instance gives every row', async () => {
    const dest = path.join(root, 'restored');
    const r = await cli(['restore', set, dest, '--json']);
    expect(r.code, r.stderr).to.equal(0);
    const [events, result] = jsonOutput(r, 'restore');
    expect(events.length).to.be.greaterThan(0);
    expect(events.every((e) => e.type === 'status' && e.snp === 8)).to.equal(true);
    expect(result.restore.destDir).to.equal(dest);
    expect(result.restore.params).to.deep.equal({ baseName: 'edb', pageSize: 4096, logFileSize: 128 * 1024 });
    const d = await cli(['dump', dest]);
    expect(d.code, d.stderr).to.equal(0);
    expect(jsonLines(d)).to.deep.equal(expectedDump(ROWS));
    const one = await cli(['dump', dest, '--db', 'b.edb', '--table', 't2']);
    expect(jsonLines(one)).to.deep.equal(expectedDump(0));
    expectJetErrorLine(await cli(['dump', dest, '--table', 'nope']), 'JET_errInvalidParameter');
    expectJetErrorLine(await cli(['dump', dest, '--db', 'zz.edb']), 'JET_errFileNotFound');
    // Restoring over it again is refused (the destination is not empty)...
    expectJetErrorLine(await cli(['restore', set, dest]), 'JET_errInvalidPath');
    // ...unless asked to overwrite.
    expect((await cli(['restore', set, dest, '--overwrite'])).code).to.equal(0);
  });

  it('truncate-logs deletes what recovery no longer needs', async () => {
    const r = await cli(['truncate-logs', inst, '--json']);
    expect(r.code, r.stderr).to.equal(0);
    const [, result] = jsonOutput(r, 'truncate-logs');
    expect(result.truncated).to.be.an('array');
    const again = await cli(['truncate-logs', inst]);
    expect(again.code).to.equal(0);
    expect(again.stdout).to.match(/nothing to delete|deleted/);
  });

  it('refuses what is not an instance or not a backup, with the matching JET error', async () => {
    const empty = path.join(root, 'empty');
    await mkdir(empty);
    const [missing, notInst, notSet, notFile, aSet] = await Promise.all([
      cli(['backup', path.join(root, 'nowhere'), path.join(root, 'b1')]),
      cli(['backup', empty, path.join(root, 'b2')]),
      cli(['restore', empty, path.join(root, 'r2')]),
      cli(['info', path.join(root, 'nowhere')]),
      cli(['dump', set]),
    ]);
    expect(expectJetErrorLine(aSet, 'JET_errInvalidPath')).to.include('is a backup set');
    expect(expectJetErrorLine(missing, 'JET_errInvalidPath')).to.include('is not a directory');
    expect(expectJetErrorLine(notInst, 'JET_errInvalidPath')).to.include('not an instance directory');
    expectJetErrorLine(notSet, 'JET_errPatchFileMissing');
    expectJetErrorLine(notFile, 'JET_errFileNotFound');
    expect(await readdir(empty)).to.deep.equal([]); // nothing created in a directory that is no instance
  });

  it('verify of a damaged set lists the problem and exits 1', async () => {
    const bad = path.join(root, 'damaged');
    await cp(set, bad, { recursive: true });
    const fh = await open(path.join(bad, 'a.edb'), 'r+');
    await fh.write(Buffer.from('garbage!'), 0, 8, pageOffset(3, 4096) + 200);
    await fh.close();
    const r = await cli(['verify', bad, '--json']);
    expect(expectJetErrorLine(r, 'JET_errReadVerifyFailure')).to.include('a.edb page 3');
    const [, result] = jsonOutput(r, 'verify');
    expect(result.ok).to.equal(false);
    expect(result.verify.problems.some((p: { errName: string; page?: number }) => p.errName === 'JET_errReadVerifyFailure' && p.page === 3)).to.equal(true);
    expect(result.drill).to.equal(null);
    const drill = await cli(['verify', inst, '--drill']);
    expectJetErrorLine(drill, 'JET_errInvalidParameter');
  });
});
