import { expect } from 'chai';
import { DomainError } from '../../../src/errors.js';
import { readBeads } from '../../../src/api/interchange/beads.js';
import { parseJson, syntaxErrorOffset } from '../../../src/api/interchange/source.js';
import { readTaskmaster } from '../../../src/api/interchange/taskmaster.js';

/** The two file readers on their own: what they make of the shapes real files take, and where they stop. */

const refusal = (run: () => unknown): DomainError => {
  try {
    run();
  } catch (error) {
    expect(error).to.be.instanceOf(DomainError);
    return error as DomainError;
  }
  return expect.fail('expected a refusal');
};
const jsonl = (...issues: object[]) => issues.map((i) => JSON.stringify(i)).join('\n');

describe('Interchange readers', () => {
  describe('syntaxErrorOffset', () => {
    for (const [text, offset] of [
      ['{"a": [,]}', 7],
      ['{"a" 1}', 5],
      ['[1 2]', 3],
      ['{"a":1,}', 7],
      ['"\\x"', 2],
      ['{"a": ', 6],
    ] as const) {
      it(`finds where ${JSON.stringify(text)} stops being JSON (${offset})`, () => expect(syntaxErrorOffset(text)).to.equal(offset));
    }

    it('survives nesting far deeper than the stack', () => expect(syntaxErrorOffset(`${'['.repeat(200_000)}x`)).to.equal(200_000));

    it('refuses a file nested deeper than a request body may be (INPUT_TOO_DEEP)', () =>
      expect(refusal(() => parseJson(`${'['.repeat(100)}${']'.repeat(100)}`)).code).to.equal('INPUT_TOO_DEEP'));

    it('refuses NUL characters and lone surrogates inside the file (INVALID_STRING)', () =>
      expect(refusal(() => parseJson('{"title": "a\\u0000b"}')).code).to.equal('INVALID_STRING'));

    it('names line and column from 1, on the line a JSONL reader gives', () => {
      const error = refusal(() => parseJson('{\n  "a": 1,\n  x\n}', { line: 10 }));
      expect(error.details).to.deep.equal({ line: 12, column: 3 });
    });
  });

  describe('Taskmaster', () => {
    it('reads string task ids and string dependencies as Taskmaster writes them in newer files', () => {
      const [project] = readTaskmaster(
        {
          loop: {
            tasks: [
              { id: '1', title: 'One' },
              { id: '2', title: 'Two', dependencies: ['1'] },
            ],
          },
        },
        {},
      );
      expect(project!.items.map((i) => i.key)).to.deep.equal(['1', '2']);
      expect(project!.dependencies).to.deep.equal([{ from: '2', to: '1', kind: 'hard' }]);
    });

    it('turns a tag name into a project id Vespera accepts', () => {
      const [project] = readTaskmaster({ 'Feature Auth!': { tasks: [] } }, {});
      expect(project!.projectId).to.equal('feature-auth');
    });

    it('reads a subtask number as its sibling and falls back to the task of that id', () => {
      const [project] = readTaskmaster(
        {
          tasks: [
            { id: 1, title: 'A', subtasks: [{ id: 1, title: 'A1' }] },
            { id: 5, title: 'B', subtasks: [{ id: 2, title: 'B2', dependencies: [1, 5] }] },
          ],
        },
        {},
      );
      expect(project!.dependencies).to.deep.equal([
        { from: '5.2', to: '1', kind: 'hard' },
        { from: '5.2', to: '5', kind: 'hard' },
      ]);
    });

    it('lists an unknown status as imported pending', () => {
      const [project] = readTaskmaster({ tasks: [{ id: 1, title: 'A', status: 'someday' }] }, {});
      expect(project!.items[0]!.status).to.equal('pending');
      expect(project!.skipped).to.deep.equal([{ kind: 'field', id: '1', reason: 'unknown status someday, imported as pending' }]);
    });

    it('refuses a repeated id, naming the field', () => {
      const error = refusal(() =>
        readTaskmaster(
          {
            tasks: [
              { id: 1, title: 'A' },
              { id: 1, title: 'B' },
            ],
          },
          {},
        ),
      );
      expect(error.code).to.equal('IMPORT_MALFORMED');
      expect(error.details.field).to.equal('master.tasks[1].id');
    });
  });

  describe('Beads', () => {
    it('takes the parent from a hierarchical id when no parent-child dependency names one', () => {
      const project = readBeads(jsonl({ id: 'bd-a1', title: 'Epic', issue_type: 'epic' }, { id: 'bd-a1.1', title: 'Child' }), {});
      expect(project.items.map((i) => [i.key, i.parentKey])).to.deep.equal([
        ['bd-a1', null],
        ['bd-a1.1', 'bd-a1'],
      ]);
      expect(project.projectId).to.equal('bd');
    });

    it('puts parents first whatever the line order', () => {
      const project = readBeads(
        jsonl(
          { id: 'x-2', title: 'Child', dependencies: [{ issue_id: 'x-2', depends_on_id: 'x-1', type: 'parent-child' }] },
          { id: 'x-1', title: 'Parent' },
        ),
        {},
      );
      expect(project.items.map((i) => i.key)).to.deep.equal(['x-1', 'x-2']);
    });

    it('skips tombstones and dependency types without a counterpart, listing them', () => {
      const project = readBeads(
        jsonl(
          { id: 'x-1', title: 'Kept', dependencies: [{ issue_id: 'x-1', depends_on_id: 'x-2', type: 'waits-for' }] },
          { id: 'x-2', title: 'Also kept' },
          { id: 'x-3', title: 'Gone', status: 'tombstone' },
        ),
        {},
      );
      expect(project.items.map((i) => i.key)).to.deep.equal(['x-1', 'x-2']);
      expect(project.skipped).to.deep.equal([
        { kind: 'task', id: 'x-3', reason: 'deleted in Beads (tombstone)' },
        { kind: 'dependency', id: 'x-1', reason: 'waits-for on x-2 has no Vespera counterpart' },
      ]);
    });

    it('restores review and cancelled from the note a Vespera export leaves, only while Beads agrees', () => {
      const project = readBeads(
        jsonl(
          { id: 'x-1', title: 'In review', status: 'in_progress', metadata: { vespera: { status: 'review' } } },
          { id: 'x-2', title: 'Reopened', status: 'open', metadata: { vespera: { status: 'cancelled' } } },
        ),
        {},
      );
      expect(project.items.map((i) => i.status)).to.deep.equal(['review', 'pending']);
    });

    it('refuses a repeated id, naming both lines', () => {
      const error = refusal(() => readBeads(jsonl({ id: 'x-1', title: 'A' }, { id: 'x-1', title: 'B' }), {}));
      expect(error.details).to.deep.include({ line: 2, firstLine: 1 });
    });
  });
});
