/**
 * Regression test (found in review; fixed): after LineSplitter.push() reports 'overflow' it keeps the oversized
 * partial line and appends every later chunk to it. The server only end()s
 * its side on overflow, so a client that keeps its half open and keeps
 * writing grows the server's buffer without bound (and each push re-splits
 * the whole buffer: quadratic CPU).
 */
import { expect } from 'chai';
import { LineSplitter, MAX_MESSAGE_BYTES } from '../../src/service/protocol.js';

describe('LineSplitter after an overflow', () => {
  it('does not keep accumulating bytes once a line was too long', () => {
    const s = new LineSplitter();
    expect(s.push('x'.repeat(MAX_MESSAGE_BYTES + 1))).to.equal('overflow');
    const chunk = 'y'.repeat(1024 * 1024);
    for (let i = 0; i < 8; i++) s.push(chunk);
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const held = ((s as any).buffered as string).length;
    expect(held, 'bytes the splitter still holds').to.be.at.most(MAX_MESSAGE_BYTES);
  });
});
