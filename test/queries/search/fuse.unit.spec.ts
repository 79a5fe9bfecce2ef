import { expect } from 'chai';
import { chunkId, surplusChunkIds, taskOfChunk, tasksFromChunkHits } from '../../../src/projections/vectors/chunks.js';
import { convexFusion } from '../../../src/queries/search/fuse.js';
import { parseQuery, type KeywordHit } from '../../../src/queries/search/keyword.js';

const kw = (id: string, score: number, coverage = 1, exact = false): KeywordHit => ({ id, score, coverage, exact });

describe('Hybrid ranking pieces', () => {
  describe('parsing a query', () => {
    it('drops stopwords when other words remain, and keeps them when they are all there is', () => {
      expect(parseQuery('how much are we paying for the model').all.map((t) => t.words.join(' '))).to.deep.equal(['paying', 'model']);
      expect(parseQuery('the').all.map((t) => t.words.join(' '))).to.deep.equal(['the']);
    });
    it('treats quoted phrases and typed identifiers as exact terms', () => {
      const parsed = parseQuery('"reverse charge" wording for VIES x-kubernetes-validations Glicko-2 useEffect ERR_CONN_RESET short-lived');
      expect(parsed.exact.map((t) => t.words.join(' '))).to.deep.equal([
        'reverse charge',
        'vies',
        'x kubernetes validations',
        'glicko 2',
        'useeffect',
        'err_conn_reset',
      ]);
      expect(parsed.loose.map((t) => t.words.join(' '))).to.deep.equal(['wording', 'short', 'lived']);
    });
  });

  describe('fusing keyword and vector hits', () => {
    it('lets a task found by both sides beat one found strongly by a single side', () => {
      const fused = convexFusion(
        [kw('both', 8), kw('words', 10)],
        [
          { id: 'meaning', similarity: 0.6 },
          { id: 'both', similarity: 0.5 },
          { id: 'far', similarity: 0.2 },
        ],
      );
      expect(fused[0]!.id).to.equal('both');
    });
    it('gives little weight to keyword hits that cover a small share of the query', () => {
      const fused = convexFusion(
        [kw('stray', 10, 0.2)],
        [
          { id: 'meaning', similarity: 0.6 },
          { id: 'far', similarity: 0.2 },
        ],
      );
      expect(fused.map((f) => f.id)).to.deep.equal(['meaning', 'stray', 'far']);
    });
    it('puts tasks holding every exact term first, whatever the vectors say', () => {
      const fused = convexFusion(
        [kw('other', 10), kw('exact', 1, 1, true)],
        [
          { id: 'other', similarity: 0.9 },
          { id: 'far', similarity: 0.1 },
        ],
      );
      expect(fused[0]!.id).to.equal('exact');
    });
    it('ranks by keywords alone when there are no vector hits (degraded)', () => {
      expect(convexFusion([kw('a', 2), kw('b', 5)], []).map((f) => f.id)).to.deep.equal(['b', 'a']);
    });
  });

  describe('scoring tasks from chunk hits', () => {
    it('maps chunk ids to their task and lists the chunks a shorter text leaves behind', () => {
      expect([chunkId('t1', 0), chunkId('t1', 3), taskOfChunk('t1#3'), taskOfChunk('t1')]).to.deep.equal(['t1', 't1#3', 't1', 't1']);
      expect(surplusChunkIds('t1', 7)).to.deep.equal(['t1#7', 't1#8']);
      expect(surplusChunkIds('t1', 1)).to.have.length(8);
    });
    it('scores a task by half its title and half its best chunk, one hit per task', () => {
      const tasks = tasksFromChunkHits(
        [
          { id: 'a#2', similarity: 0.8 },
          { id: 'b', similarity: 0.7 },
          { id: 'a', similarity: 0.4 },
          { id: 'c#1', similarity: 0.3 },
        ],
        10,
      );
      expect(tasks.map((t) => [t.id, Number(t.similarity.toFixed(2))])).to.deep.equal([
        ['b', 0.7],
        ['a', 0.6],
        ['c', 0.3],
      ]);
    });
  });
});
