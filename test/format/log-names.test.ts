import { expect } from 'chai';
import fc from 'fast-check';
import {
  MAX_GENERATION, archivedLogName, checkpointName, currentLogName, parseArchivedLogName, tmpLogName,
} from '../../src/format/log-names.js';

describe('format/log-names', () => {
  it('names the current, tmp and checkpoint files after the base name', () => {
    expect(currentLogName('edb')).to.equal('edb.log');
    expect(tmpLogName('edb')).to.equal('edbtmp.log');
    expect(checkpointName('edb')).to.equal('edb.chk');
  });

  it('names a finished generation with 8 upper-case hex digits', () => {
    expect(archivedLogName('edb', 0x123ab)).to.equal('edb000123AB.log');
    expect(archivedLogName('edb', 1)).to.equal('edb00000001.log');
    expect(archivedLogName('E00', MAX_GENERATION)).to.equal('E00FFFFFFFF.log');
  });

  it('parses a finished generation name back to its generation', () => {
    expect(parseArchivedLogName('edb', 'edb000123AB.log')).to.equal(0x123ab);
    expect(parseArchivedLogName('edb', 'edbFFFFFFFF.log')).to.equal(MAX_GENERATION);
  });

  it('matches the base name and extension case-insensitively, and hex digits of either case', () => {
    expect(parseArchivedLogName('edb', 'EDB000123AB.LOG')).to.equal(0x123ab);
    expect(parseArchivedLogName('EDB', 'edb000123ab.log')).to.equal(0x123ab);
    expect(parseArchivedLogName('eDb', 'Edb000123aB.Log')).to.equal(0x123ab);
  });

  it('rejects names of the wrong length', () => {
    expect(parseArchivedLogName('edb', 'edb00123AB.log')).to.equal(undefined);
    expect(parseArchivedLogName('edb', 'edb0000123AB.log')).to.equal(undefined);
    expect(parseArchivedLogName('edb', 'edb.log')).to.equal(undefined);
    expect(parseArchivedLogName('edb', 'edbtmp.log')).to.equal(undefined);
  });

  it('rejects another base name or another extension', () => {
    expect(parseArchivedLogName('edb', 'res000123AB.log')).to.equal(undefined);
    expect(parseArchivedLogName('edb', 'edb000123AB.chk')).to.equal(undefined);
    expect(parseArchivedLogName('edb', 'edb000123AB.lo_')).to.equal(undefined);
    expect(parseArchivedLogName('edb', 'edb000123ABxlog')).to.equal(undefined);
  });

  it('rejects non-hex generation digits, including signs and spaces', () => {
    for (const digits of ['000123AG', '0000 1AB', '+00123AB', '-00123AB', '0x0123AB', '000123A.']) {
      expect(parseArchivedLogName('edb', `edb${digits}.log`), digits).to.equal(undefined);
    }
  });

  it('rejects generation zero', () => {
    expect(parseArchivedLogName('edb', 'edb00000000.log')).to.equal(undefined);
  });

  it('round-trips every generation through its name (property)', () => {
    const base = fc.constantFrom('edb', 'E00', 'res', 'x1Z');
    fc.assert(fc.property(base, fc.integer({ min: 1, max: MAX_GENERATION }), (b, gen) => {
      const name = archivedLogName(b, gen);
      expect(name).to.have.lengthOf(b.length + 12);
      expect(parseArchivedLogName(b, name)).to.equal(gen);
      expect(parseArchivedLogName(b.toUpperCase(), name.toLowerCase())).to.equal(gen);
    }), { numRuns: 500 });
  });

  it('sorts finished names of one base in generation order', () => {
    const gens = [0xa, 0x9, 0x10, 0x1, 0xff, 0x100];
    const names = gens.map((g) => archivedLogName('edb', g)).sort();
    expect(names.map((n) => parseArchivedLogName('edb', n))).to.deep.equal([...gens].sort((a, b) => a - b));
  });
});
