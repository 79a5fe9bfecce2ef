import Database from 'better-sqlite3';
import { expect } from 'chai';
import { compareKeys, compareText } from '../../src/projections/verifyReport.js';

/** verify walks a live and a rebuilt table side by side in ORDER BY order, so its key order must be SQLite's. */
describe('The key order verify merges rows in', () => {
  const samples = ['b', 'a', 'ab', '', 'Z', 'é', 'e\u0301', '\uffef', '\ue000', '😀', '𝔸', '\ud7ff', 'a😀', 'a\uffff', 'tag-10', 'tag-9'];

  it('agrees with SQLite’s BINARY collation, including characters above U+FFFF', () => {
    const db = new Database(':memory:');
    db.exec('CREATE TABLE t (k TEXT PRIMARY KEY)');
    for (const s of samples) db.prepare('INSERT INTO t VALUES (?)').run(s);
    const sqlite = db
      .prepare<[], { k: string }>('SELECT k FROM t ORDER BY k')
      .all()
      .map((r) => r.k);
    db.close();
    expect([...samples].sort(compareText)).to.deep.equal(sqlite);
    // JS's own sort orders by UTF-16 unit and would disagree: the reason compareText exists.
    expect([...samples].sort()).to.not.deep.equal(sqlite);
  });

  it('compares rows column by column, numbers numerically', () => {
    expect(compareKeys([0, 1], ['t1', 10], ['t1', 9])).to.be.greaterThan(0);
    expect(compareKeys([0, 1], ['t1', 2], ['t2', 1])).to.be.lessThan(0);
    expect(compareKeys([1], ['x', 3], ['y', 3])).to.equal(0);
  });
});
