import { expect } from 'chai';
import { refuseUnlessReadOnly, tokenizeCypher } from '../../../src/projections/graph/readOnlyCypher.js';

describe('The read-only Cypher guard', () => {
  describe('lets reads through', () => {
    for (const cypher of [
      'MATCH (t:Task) RETURN t.id',
      'match (t:Task {project: $p}) return count(*) as n;',
      'OPTIONAL MATCH (t:Task)-[:DEPENDS_ON*1..3]->(d) RETURN d',
      'UNWIND $ids AS id MATCH (t:Task {id: id}) RETURN t',
      'WITH 1 AS x RETURN x',
      "MATCH (t:Task) WHERE t.status = 'create the set; DROP TABLE Task' RETURN t",
      'MATCH (t:Task) // DELETE everything\nRETURN t',
      'MATCH (t:Task) /* SET t.status = 1 */ RETURN t',
      'MATCH (t:Task) RETURN t.id AS `delete`',
      "MATCH (t:Task) WHERE t.id = 'it\\'s; CREATE' RETURN t",
      'CALL show_tables() RETURN *',
      "CALL table_info('Task') RETURN *",
    ]) {
      it(JSON.stringify(cypher), () => expect(refuseUnlessReadOnly(cypher)).to.equal(undefined));
    }
  });

  describe('refuses what writes, reaches files or changes settings', () => {
    for (const [cypher, clause] of [
      ["CREATE (:Task {id: 'x'})", undefined],
      ["MATCH (t:Task) SET t.status = 'done'", 'SET'],
      ['MATCH (t:Task) DETACH DELETE t', 'DETACH'],
      ['MATCH (t:Task) delete t', 'DELETE'],
      ["MATCH (t:Task) MERGE (:Task {id: 'y'})", 'MERGE'],
      ['MATCH (t:Task) REMOVE t.role', 'REMOVE'],
      ['MATCH (t:Task)\n  /* fine */ CrEaTe (:Task {id: "z"})', 'CREATE'],
      ['RETURN 1; DROP TABLE Task', undefined],
      ["LOAD FROM '/etc/passwd' RETURN *", undefined],
      ["WITH 1 AS x LOAD FROM '/etc/passwd' RETURN *", 'LOAD'],
      ["MATCH (t) WITH t COPY Task FROM 'x.csv'", 'COPY'],
      ['CALL var_length_extend_max_depth=1000000', 'CALL'],
      ['CALL threads=64', 'CALL'],
      ['CALL clear_warnings() RETURN *', 'CALL'],
      ["WITH 1 AS x ATTACH 'other.kuzu' AS o", 'ATTACH'],
      ['WITH 1 AS x INSTALL httpfs', 'INSTALL'],
      ["WITH 1 AS x EXPORT DATABASE '/tmp/x'", 'EXPORT'],
      ['BEGIN TRANSACTION', undefined],
      ['ALTER TABLE Task ADD x INT64', undefined],
    ] as const) {
      it(JSON.stringify(cypher), () => {
        const refusal = refuseUnlessReadOnly(cypher);
        expect(refusal, 'refused').to.be.an('object');
        if (clause) expect(refusal!.clause).to.equal(clause);
      });
    }

    it('refuses two statements, an empty query and unterminated strings or comments', () => {
      expect(refuseUnlessReadOnly('RETURN 1; RETURN 2')!.reason).to.match(/one statement/);
      expect(refuseUnlessReadOnly('  // nothing\n')!.reason).to.match(/empty/);
      expect(refuseUnlessReadOnly("MATCH (t) WHERE t.id = 'x RETURN t")!.reason).to.match(/string/);
      expect(refuseUnlessReadOnly('MATCH (t) /* RETURN t')!.reason).to.match(/comment/);
      expect(refuseUnlessReadOnly('MATCH (t) RETURN t AS `x')!.reason).to.match(/name/);
    });

    it('says where the refused clause stands', () => {
      expect(refuseUnlessReadOnly('MATCH (t:Task) SET t.x = 1')).to.deep.include({ at: 15, clause: 'SET' });
    });
  });

  it('keeps strings, names, comments and parameters whole', () => {
    const cypher = "MATCH (t) WHERE t.id = $id AND t.title <> 'a \\' b' RETURN t AS `x``y` // c";
    const tokens = tokenizeCypher(cypher);
    expect(Array.isArray(tokens)).to.equal(true);
    expect((tokens as { kind: string; text: string }[]).filter((t) => t.kind !== 'symbol' && t.kind !== 'word')).to.deep.equal([
      { kind: 'parameter', text: '$id', at: cypher.indexOf('$id') },
      { kind: 'string', text: "'a \\' b'", at: cypher.indexOf("'") },
      { kind: 'name', text: '`x``y`', at: cypher.indexOf('`') },
    ]);
  });
});
