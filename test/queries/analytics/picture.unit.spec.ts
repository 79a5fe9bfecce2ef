import { expect } from 'chai';
import { DomainError } from '../../../src/errors.js';
import { MAX_PICTURE_NODES, mermaidText, projectPicture } from '../../../src/queries/analytics/picture.js';
import { ProjectIndex } from '../../../src/queries/analytics/projectIndex.js';

const projectOf = (count: number) =>
  new ProjectIndex({
    projectId: 'big',
    tasks: Array.from({ length: count }, (_, i) => ({
      id: `t${i}`,
      estimate: 1,
      status: 'pending',
      createdSeq: i,
      priority: 'normal',
      role: null,
      parentId: null,
    })),
    edges: [],
  });

describe('projectPicture', () => {
  it(`draws a project of ${MAX_PICTURE_NODES} tasks`, () => {
    expect(projectPicture(projectOf(MAX_PICTURE_NODES), new Map(), { defaultEstimate: 8, position: 1 }).nodes).to.have.length(MAX_PICTURE_NODES);
  });

  it('refuses a larger one with 422 GRAPH_TOO_LARGE and a hint', () => {
    try {
      projectPicture(projectOf(MAX_PICTURE_NODES + 1), new Map(), { defaultEstimate: 8, position: 1 });
      expect.fail('expected a refusal');
    } catch (error) {
      expect(error).to.be.instanceOf(DomainError);
      expect(error).to.include({ code: 'GRAPH_TOO_LARGE', status: 422 });
      expect((error as DomainError).details).to.include({ tasks: MAX_PICTURE_NODES + 1, max: MAX_PICTURE_NODES });
      expect((error as DomainError).hint).to.match(/rootTaskId|graph_query/);
    }
  });
});

describe('mermaidText', () => {
  it('keeps letters (any script), digits and plain punctuation', () => {
    expect(mermaidText('Ship v2.1: café, 日本 - a/b_c+d')).to.equal('Ship v2.1: café, 日本 - a/b_c+d');
  });

  it('writes anything else as a numeric entity and line breaks as one space', () => {
    expect(mermaidText('a"b\r\n<c>;%%')).to.equal('a#34;b #60;c#62;#59;#37;#37;');
  });
});
