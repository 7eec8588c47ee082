import { expect } from 'chai';
import { checkFollows, planChain } from '../../src/engine/log-chain.js';
import type { LogListing } from '../../src/engine/log-files.js';
import type { LogHeader } from '../../src/format/log-header.js';
import { randomHex } from '../helpers/bytes.js';
import { expectJetThrow } from '../helpers/jet.js';

function listing(archived: number[], opts: { hasCurrent?: boolean; hasTmp?: boolean } = {}): LogListing {
  return { archived, hasCurrent: opts.hasCurrent ?? true, hasTmp: opts.hasTmp ?? false };
}

describe('engine/log-chain', () => {
  describe('planChain', () => {
    it('plans the generations from the checkpoint to the current log', () => {
      const plan = planChain(listing([1, 2, 3, 4, 5]), 3, 6);
      expect(plan).to.deep.equal({ gens: [3, 4, 5, 6], currentGen: 6, rollInterrupted: false });
    });

    it('plans only the current generation when the checkpoint is in it', () => {
      expect(planChain(listing([1, 2]), 3, 3)).to.deep.equal({ gens: [3], currentGen: 3, rollInterrupted: false });
      expect(planChain(listing([]), 1, 1)).to.deep.equal({ gens: [1], currentGen: 1, rollInterrupted: false });
    });

    it('ignores finished generations older than the checkpoint, even with gaps among them', () => {
      expect(planChain(listing([1, 3, 7, 8]), 8, 9).gens).to.deep.equal([8, 9]);
    });

    it('throws JET_errMissingPreviousLogFile when the checkpoint generation is missing', () => {
      const e = expectJetThrow(() => planChain(listing([5, 6]), 4, 7), 'JET_errMissingPreviousLogFile');
      expect(e.message).to.contain('generation 4');
    });

    it('throws JET_errRequiredLogFilesMissing naming the first missing generation of a gap', () => {
      const e = expectJetThrow(() => planChain(listing([3, 4, 6, 7]), 3, 8), 'JET_errRequiredLogFilesMissing');
      expect(e.message).to.contain('generation 5');
    });

    it('throws JET_errRequiredLogFilesMissing when the gap is right before the current log', () => {
      const e = expectJetThrow(() => planChain(listing([3, 4]), 3, 6), 'JET_errRequiredLogFilesMissing');
      expect(e.message).to.contain('generation 5');
    });

    it('throws JET_errMissingLogFile when there is no current log and no tmp log', () => {
      const e = expectJetThrow(() => planChain(listing([1, 2, 3], { hasCurrent: false }), 2, undefined), 'JET_errMissingLogFile');
      expect(e.message).to.match(/\b3\b/);
    });

    it('throws JET_errMissingLogFile when there are no logs at all', () => {
      expectJetThrow(() => planChain(listing([], { hasCurrent: false }), 1, undefined), 'JET_errMissingLogFile');
    });

    it('plans up to the newest finished generation when a roll was interrupted (no current log, tmp log present)', () => {
      const plan = planChain(listing([2, 3, 4], { hasCurrent: false, hasTmp: true }), 3, undefined);
      expect(plan).to.deep.equal({ gens: [3, 4], currentGen: undefined, rollInterrupted: true });
    });

    it('still demands every generation from the checkpoint when a roll was interrupted', () => {
      expectJetThrow(() => planChain(listing([2, 4], { hasCurrent: false, hasTmp: true }), 2, undefined), 'JET_errRequiredLogFilesMissing');
      expectJetThrow(() => planChain(listing([4], { hasCurrent: false, hasTmp: true }), 3, undefined), 'JET_errMissingPreviousLogFile');
    });

    it('throws JET_errInvalidLogSequence when the current log is not newer than the last finished one', () => {
      for (const current of [5, 4, 1]) {
        const e = expectJetThrow(() => planChain(listing([3, 4, 5]), 3, current), 'JET_errInvalidLogSequence');
        expect(e.message, `current ${current}`).to.contain(`generation ${current}`);
        expect(e.message, `current ${current}`).to.contain('generation 5');
      }
    });

    it('throws JET_errMissingLogFile when the checkpoint is beyond the newest generation', () => {
      const e = expectJetThrow(() => planChain(listing([1, 2]), 9, 3), 'JET_errMissingLogFile');
      expect(e.message).to.contain('generation 9');
    });
  });

  describe('checkFollows', () => {
    const sig = randomHex();
    const prev: LogHeader = {
      generation: 7, logFileSize: 1 << 20, pageSize: 8192, timeCreate: 1000.5, timePrevGen: 999, logSignature: sig, attached: [],
    };
    const next: LogHeader = { ...prev, generation: 8, timeCreate: 2000.25, timePrevGen: 1000.5 };

    it('accepts the next generation of the same sequence that names its predecessor', () => {
      expect(() => checkFollows(prev, next, 'edb00000008.log')).to.not.throw();
    });

    it('throws JET_errBadLogSignature for a generation of another log sequence, naming the file', () => {
      const other = { ...next, logSignature: randomHex() };
      const e = expectJetThrow(() => checkFollows(prev, other, 'edb00000008.log'), 'JET_errBadLogSignature');
      expect(e.message).to.contain('edb00000008.log');
    });

    it('throws JET_errInvalidLogSequence when timePrevGen is not the previous timeCreate', () => {
      const e = expectJetThrow(() => checkFollows(prev, { ...next, timePrevGen: 1000.75 }, 'edb.log'), 'JET_errInvalidLogSequence');
      expect(e.message).to.contain('edb.log');
      expect(e.message).to.contain('generation 7');
    });

    it('throws JET_errInvalidLogSequence when the generation is not the next one', () => {
      for (const generation of [7, 9, 6]) {
        expectJetThrow(() => checkFollows(prev, { ...next, generation }, 'edb.log'), 'JET_errInvalidLogSequence');
      }
    });
  });
});
