import { expect } from 'chai';
import { validTraceparent } from '../../../src/api/traceContext.js';

/** Which `traceparent` headers are continued (W3C Trace Context, level 1): the others are ignored, never refused. */
describe('traceparent validation', () => {
  const trace = '4bf92f3577b34da6a3ce929d0e0e4736';
  const span = '00f067aa0ba902b7';

  it('accepts a version-00 header, sampled or not', () => {
    expect(validTraceparent(`00-${trace}-${span}-01`)).to.equal(`00-${trace}-${span}-01`);
    expect(validTraceparent(`00-${trace}-${span}-00`)).to.equal(`00-${trace}-${span}-00`);
  });

  it('accepts a later version with extra fields, as the specification asks of a version-00 reader', () => {
    expect(validTraceparent(`01-${trace}-${span}-01-extra`)).to.equal(`01-${trace}-${span}-01-extra`);
  });

  const invalid: Array<[string, string | undefined]> = [
    ['absent', undefined],
    ['empty', ''],
    ['garbage', 'not-a-traceparent'],
    ['version ff', `ff-${trace}-${span}-01`],
    ['all-zero trace id', `00-${'0'.repeat(32)}-${span}-01`],
    ['all-zero span id', `00-${trace}-${'0'.repeat(16)}-01`],
    ['upper-case hex', `00-${trace.toUpperCase()}-${span}-01`],
    ['short trace id', `00-${trace.slice(2)}-${span}-01`],
    ['version 00 with extra fields', `00-${trace}-${span}-01-extra`],
    ['over 512 characters', `01-${trace}-${span}-01-${'x'.repeat(600)}`],
  ];
  for (const [what, header] of invalid) {
    it(`ignores a header that is ${what}`, () => {
      expect(validTraceparent(header)).to.equal(undefined);
    });
  }
});
