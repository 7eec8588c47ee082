/**
 * restoreDrill(backupDir): restore into a scratch directory, open it, walk
 * every table, report, and remove the scratch directory whatever happened.
 */
import { expect } from 'chai';
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { JET_bitBackupIncremental } from '../../src/backup/options.js';
import type { BackupPool } from '../../src/backup/pool.js';
import type { InstanceParams } from '../../src/engine/params.js';
import { restoreDrill } from '../../src/restore/drill.js';
import { tmpDir } from '../helpers/tmp-dir.js';
import { commitMany, copySet, flipPageByte, loadedSource, modelAt, poolSuite, usedPage } from './restore-helpers.js';

const ROWS = 1000;

const drillDirs = async () => (await readdir(tmpdir())).filter((n) => n.startsWith('esebackup-drill-'));

describe('restoreDrill', function () {
  this.timeout(60_000);
  let pool: BackupPool;
  poolSuite((p) => { pool = p; });

  /** Full + incremental of a fresh instance; resolves to the set and the rows its tables hold. */
  async function makeSet(params: InstanceParams = {}): Promise<{ bdir: string; rows: number; tables: number }> {
    const { inst, db, c } = await loadedSource(ROWS, params);
    const bdir = await tmpDir('drill-set-');
    await commitMany(db, c, 50);
    await inst.checkpoint();
    await inst.backup(bdir, 0, undefined, { pool });
    await commitMany(db, c, 80);
    await inst.backup(bdir, JET_bitBackupIncremental, undefined, { pool });
    await inst.close();
    const model = modelAt(c.begun, ROWS);
    return { bdir, rows: [...model.tables.values()].reduce((n, t) => n + t.size, 0), tables: model.tables.size };
  }

  async function expectGoodDrill(params: InstanceParams): Promise<void> {
    const { bdir, rows, tables } = await makeSet(params);
    const before = await drillDirs();
    const report = await restoreDrill(bdir, { pool });
    expect(report.error, JSON.stringify(report.error)).to.equal(null);
    expect(report.ok).to.equal(true);
    expect(report.restore?.databases).to.deep.equal(['main.edb']);
    expect(report.databases).to.have.length(1);
    const d = report.databases[0]!;
    expect(d.name).to.equal('main.edb');
    expect(d.problems).to.deep.equal([]);
    expect(d.tables).to.equal(tables);
    expect(d.rows, 'rows counted over every table').to.equal(rows);
    expect(d.pagesInUse).to.be.greaterThan(0);
    expect((await drillDirs()).filter((n) => !before.includes(n)), 'scratch directories left in the temp directory').to.deep.equal([]);
  }

  it('a good set of an instance with small pages and logs drills ok: every table walked, rows counted, scratch directory removed', async () => {
    await expectGoodDrill({ logFileSize: 64 * 1024, pageSize: 4096 });
  });

  it('a good set of an instance with the default page and log sizes drills ok', async () => {
    await expectGoodDrill({ logFileSize: 1024 * 1024, pageSize: 8192 });
  });

  it('a corrupted set is not ok: error JET_errReadVerifyFailure (-1018), scratch directory removed', async () => {
    const { bdir } = await makeSet();
    const set = await copySet(bdir);
    const file = path.join(set, 'main.edb');
    await flipPageByte(file, await usedPage(file, 4096), 4096);
    const before = await drillDirs();
    const report = await restoreDrill(set, { pool });
    expect(report.ok).to.equal(false);
    expect(report.error?.err).to.equal(-1018);
    expect(report.error?.errName).to.equal('JET_errReadVerifyFailure');
    expect(report.restore).to.equal(null);
    expect(report.databases).to.deep.equal([]);
    expect((await drillDirs()).filter((n) => !before.includes(n)), 'scratch directories left in the temp directory').to.deep.equal([]);
  });

  it('a directory holding no backup set is not ok: error JET_errPatchFileMissing', async () => {
    const report = await restoreDrill(await tmpDir('drill-empty-'), { pool });
    expect(report.ok).to.equal(false);
    expect(report.error?.errName).to.equal('JET_errPatchFileMissing');
  });
});
