import { expect } from 'chai';
import { MAX_BODY_CHUNKS, taskChunks, titleChunk } from '../../src/embeddings/chunks.js';
import { LONG_CORPUS } from '../queries/search/fixtures/taskFiles.js';

const sentence = (i: number) => `Sentence number ${i} explains one more detail of the work in about twelve words.`;

describe('Chunking a task for embedding', () => {
  describe('when the description fits one chunk (60 words)', () => {
    it('embeds one text: title, whole description and tags', () => {
      const description = Array.from({ length: 60 }, (_, i) => `w${i}`).join(' ');
      expect(taskChunks({ title: 'T', description, tags: [] })).to.deep.equal([`T\n${description}`]);
    });
    it('embeds one text for a short description too', () => {
      expect(taskChunks({ title: 'Fix the flaky login test', description: 'It fails on CI one run in ten.', tags: ['auth'] })).to.deep.equal([
        'Fix the flaky login test\nIt fails on CI one run in ten.\nauth',
      ]);
    });
  });

  describe('when the description is long', () => {
    const task = { title: 'Long task', description: Array.from({ length: 30 }, (_, i) => sentence(i)).join(' '), tags: ['x'] };
    const chunks = taskChunks(task);

    it('starts with the title chunk: the title, the first 30 words of the description and the tags', () => {
      expect(chunks[0]).to.equal(titleChunk(task));
      expect(chunks[0]!.split('\n')[1]!.split(' ')).to.have.length(30);
      expect(chunks[0]!.endsWith('\nx')).to.equal(true);
    });
    it('cuts the body at sentence ends into chunks of at most 60 words', () => {
      for (const chunk of chunks.slice(1)) {
        expect(chunk.split(' ').length).to.be.at.most(60);
        expect(chunk.endsWith('words.')).to.equal(true);
      }
      expect(chunks[1]!.startsWith('Sentence number 0 ')).to.equal(true);
    });
    it(`keeps at most ${MAX_BODY_CHUNKS} body chunks (the rest is left to keyword search)`, () => {
      const huge = taskChunks({ ...task, description: Array.from({ length: 400 }, (_, i) => sentence(i)).join(' ') });
      expect(huge).to.have.length(1 + MAX_BODY_CHUNKS);
    });
    it('splits a sentence longer than a chunk by words', () => {
      const run = taskChunks({ title: 't', description: Array.from({ length: 150 }, (_, i) => `w${i}`).join(' '), tags: [] });
      expect(run.slice(1).map((c) => c.split(' ').length)).to.deep.equal([60, 60, 30]);
    });
  });

  it('gives every task of the long corpus between 1 and 9 chunks, none empty', () => {
    for (const task of LONG_CORPUS) {
      const chunks = taskChunks(task);
      expect(chunks.length).to.be.within(1, 1 + MAX_BODY_CHUNKS);
      for (const chunk of chunks) expect(chunk.trim()).not.to.equal('');
    }
  });
});
