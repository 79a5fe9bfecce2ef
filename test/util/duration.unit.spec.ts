import { expect } from 'chai';
import { formatDurationSeconds, parseDurationSeconds } from '../../src/util/duration.js';

describe('parseDurationSeconds', () => {
  describe('given a number with a unit', () => {
    it('counts seconds, minutes, hours, days and weeks in seconds', () => {
      expect(parseDurationSeconds('30s')).to.equal(30);
      expect(parseDurationSeconds('15m')).to.equal(900);
      expect(parseDurationSeconds('12h')).to.equal(43_200);
      expect(parseDurationSeconds('90d')).to.equal(7_776_000);
      expect(parseDurationSeconds('2w')).to.equal(1_209_600);
    });

    it('ignores surrounding spaces and the case of the unit', () => {
      expect(parseDurationSeconds(' 12H ')).to.equal(43_200);
    });
  });

  describe('given plain digits', () => {
    it('reads them as seconds', () => {
      expect(parseDurationSeconds('3600')).to.equal(3600);
    });
  });

  describe('given anything else', () => {
    for (const text of ['', 'd', '90 d', '1.5h', '-5m', '+5m', '1h30m', '3y', '90days', 'abc', '1e3', '0x10', '9999999999999w']) {
      it(`refuses ${JSON.stringify(text)}`, () => {
        expect(parseDurationSeconds(text)).to.equal(undefined);
      });
    }
  });
});

describe('formatDurationSeconds', () => {
  it('names the largest unit that divides the seconds exactly', () => {
    expect(formatDurationSeconds(7_776_000)).to.equal('90d');
    expect(formatDurationSeconds(43_200)).to.equal('12h');
    expect(formatDurationSeconds(5_400)).to.equal('90m');
    expect(formatDurationSeconds(61)).to.equal('61s');
  });
});
