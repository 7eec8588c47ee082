import { expect } from 'chai';
import { LineSplitter, MAX_MESSAGE_BYTES, parseRequest } from '../../src/service/protocol.js';

describe('service/protocol', () => {
  it('accepts a backup request with its options and the two simple ops', () => {
    expect(parseRequest('{"id":7,"op":"backup","path":"/b","grbit":1,"options":{"workers":2}}')).to.deep.equal({
      ok: true, request: { id: 7, op: 'backup', path: '/b', grbit: 1, options: { workers: 2 } },
    });
    expect(parseRequest('{"id":1,"op":"truncate"}')).to.deep.equal({ ok: true, request: { id: 1, op: 'truncate' } });
    expect(parseRequest('{"id":2,"op":"info"}')).to.deep.equal({ ok: true, request: { id: 2, op: 'info' } });
  });

  it('refuses malformed requests with a reason, keeping the id when there is one', () => {
    const cases: [string, number, RegExp][] = [
      ['not json', 0, /not JSON/],
      ['[1,2]', 0, /not a JSON object/],
      ['{"op":"info"}', 0, /id/],
      ['{"id":-1,"op":"info"}', 0, /id/],
      ['{"id":3,"op":"format-disk"}', 3, /unknown op/],
      ['{"id":4,"op":"backup","grbit":0}', 4, /path/],
      ['{"id":5,"op":"backup","path":"/b"}', 5, /grbit/],
      ['{"id":6,"op":"backup","path":"/b","grbit":0,"options":{"signal":1}}', 6, /unknown option/],
      ['{"id":7,"op":"backup","path":"/b","grbit":0,"options":{"workers":"2"}}', 7, /must be an integer/],
      ['{"id":8,"op":"backup","path":"/b","grbit":0,"options":{"workers":256}}', 8, /from 1 to 16/],
    ];
    for (const [line, id, why] of cases) {
      const p = parseRequest(line);
      expect(p.ok, line).to.equal(false);
      if (!p.ok) {
        expect(p.id, line).to.equal(id);
        expect(p.message, line).to.match(why);
      }
    }
  });

  it('splits a stream into lines across chunk boundaries and skips blank lines', () => {
    const s = new LineSplitter();
    expect(s.push('{"a":')).to.deep.equal([]);
    expect(s.push('1}\n\n{"b"')).to.deep.equal(['{"a":1}']);
    expect(s.push(':2}\n')).to.deep.equal(['{"b":2}']);
  });

  it('reports overflow for a line longer than the limit, finished or not', () => {
    expect(new LineSplitter().push('x'.repeat(MAX_MESSAGE_BYTES + 1))).to.equal('overflow');
    expect(new LineSplitter().push(`${'x'.repeat(MAX_MESSAGE_BYTES + 1)}\n`)).to.equal('overflow');
    expect(new LineSplitter().push(`${'x'.repeat(MAX_MESSAGE_BYTES)}\n`)).to.deep.equal(['x'.repeat(MAX_MESSAGE_BYTES)]);
  });
});
