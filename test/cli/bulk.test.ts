/**
 * esebackup bulk over 10 instances, one of them broken (a page of its
 * database corrupted after the checkpoint and clean close): the other nine
 * are backed up, the summary names the failure, the exit code is 1.
 */
import { open, readdir } from 'node:fs/promises';
import * as path from 'node:path';
import { expect } from 'chai';
import { pageOffset } from '../../src/format/page.js';
import { removeTmpDirs, tmpDir } from '../helpers/tmp-dir.js';
import { cli, ensureBuilt, expectJetErrorLine, jsonOutput, makeInstance } from './cli-helpers.js';

const N = 10;
const BROKEN = 3;
const name = (i: number) => `inst-${String(i).padStart(2, '0')}`;

describe('esebackup bulk', function () {
  this.timeout(90_000);
  let root: string;
  let dirs: string[];

  before(async function () {
    this.timeout(300_000);
    await ensureBuilt();
    root = await tmpDir('esebackup-bulk-');
    dirs = Array.from({ length: N }, (_, i) => path.join(root, name(i)));
    for (const d of dirs) await makeInstance(d, 300);
    // makeInstance closed it: the checkpoint wrote every page and the header says clean. Now damage page 2 of a.edb.
    const fh = await open(path.join(dirs[BROKEN]!, 'a.edb'), 'r+');
    await fh.write(Buffer.alloc(64, 0xa5), 0, 64, pageOffset(2, 4096) + 512);
    await fh.close();
  });
  after(removeTmpDirs);

  it('backs up nine of ten, prints a summary table naming the failure, and exits 1', async () => {
    const dest = path.join(root, 'backups');
    const r = await cli(['bulk', '--dest', dest, '--concurrency', '3', '--workers', '2', '--retries', '1', '--retry-delay', '0', ...dirs]);
    const last = expectJetErrorLine(r, 'JET_errReadVerifyFailure');
    expect(last).to.include(`1 of ${N} backups failed: ${name(BROKEN)}`);
    expect(r.stderr).to.include(`esebackup: ${name(BROKEN)}: JET_errReadVerifyFailure (-1018):`);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).to.match(/^instance\s+type\s+size\s+time\s+GB\/s\s+result$/);
    const rows = lines.slice(2, 2 + N);
    expect(rows.map((l) => l.split(/\s+/)[0])).to.deep.equal(dirs.map((d) => path.basename(d)));
    for (let i = 0; i < N; i++) {
      if (i === BROKEN) expect(rows[i]).to.match(/FAILED JET_errReadVerifyFailure \(-1018\): .*a\.edb.*page 2/);
      else expect(rows[i]).to.match(/^inst-\d\d\s+full\s+[\d.]+ (KiB|MiB)\s+\S+ m?s\s+[\d.]+\s+ok$/);
    }
    expect(lines[2 + N]).to.match(new RegExp(`^${N - 1} of ${N} instance\\(s\\) backed up into .*FAILED: ${name(BROKEN)}$`));
    const made = (await readdir(dest)).sort();
    expect(made).to.deep.equal(dirs.map((d) => path.basename(d)));
    for (let i = 0; i < N; i++) {
      const files = await readdir(path.join(dest, name(i)));
      if (i === BROKEN) expect(files, 'a failed backup leaves nothing').to.deep.equal([]);
      else expect(files).to.include('esebackup.manifest');
    }
  });

  it('--json: per-instance events and one summary object; an incremental round fails only the instance without a full backup', async () => {
    const dest = path.join(root, 'backups');
    const r = await cli(['bulk', '--dest', dest, '--incremental', '--json', ...dirs]);
    expect(r.code).to.equal(1);
    const [events, result] = jsonOutput(r, 'bulk');
    expect(result).to.include({ ok: false, succeeded: N - 1, failed: 1 });
    expect(result.instances).to.have.length(N);
    for (const row of result.instances) {
      expect(row).to.have.keys('instance', 'name', 'dest', 'mode', 'type', 'bytes', 'durationMs', 'gbPerSec', 'ok', 'error', 'warnings');
      if (row.name === name(BROKEN)) {
        expect(row.ok).to.equal(false);
        expect(row.error.errName).to.be.a('string');
      } else {
        expect(row).to.include({ ok: true, type: 'incremental', mode: 'local' });
        expect(row.error).to.equal(null);
      }
    }
    expect(events.filter((e) => e.type === 'instance-result')).to.have.length(N);
    expect(events.filter((e) => e.type === 'status').every((e) => dirs.includes(e.instance))).to.equal(true);
  });

  it('refuses two instances that would share a destination (usage error, nothing done)', async () => {
    const r = await cli(['bulk', '--dest', path.join(root, 'x'), dirs[0]!, path.join(root, 'other', name(0))]);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.match(/^esebackup: usage error: .*would both back up into/);
  });
});
