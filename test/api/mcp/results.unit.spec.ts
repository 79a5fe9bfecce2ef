import { expect } from 'chai';
import { DomainError } from '../../../src/errors.js';
import { hintFor, MAX_JSON_TEXT, renderLine } from '../../../src/api/mcp/results.js';

describe('MCP results', () => {
  describe('renderLine', () => {
    it('is the compact JSON up to MAX_JSON_TEXT bytes', () => {
      const body = { id: 't1', title: 'x'.repeat(MAX_JSON_TEXT - 100) };
      expect(renderLine(body)).to.equal(JSON.stringify(body));
    });

    it('summarises a larger answer, naming the ids at the top and one level down', () => {
      const big = 'x'.repeat(MAX_JSON_TEXT);
      expect(renderLine({ claimed: true, task: { id: 'task-1', description: big }, position: 21 })).to.include(
        'claimed=true, task.id="task-1", position=21',
      );
      const list = renderLine({ items: [{ id: 'a', d: big }, { id: 'b' }], nextCursor: 'c2' });
      expect(list).to.include('items: 2 item(s) (a, b)').and.include('cursor "c2"');
      expect(renderLine({ id: 'task-2', title: 'Big', status: 'pending', description: big })).to.match(/^task-2 "Big" \(pending\)/);
    });
  });

  describe('hintFor', () => {
    const known = new Set(['get_task', 'list_tasks', 'search_tasks', 'list_roles']);
    const notFound = new DomainError('TASK_NOT_FOUND', 404, 'Task x does not exist.');

    it('gives the most specific hint whose tools are all served', () => {
      expect(hintFor(notFound, { served: known, known })).to.include('list_tasks or search_tasks');
      expect(hintFor(notFound, { served: new Set(['get_task', 'list_tasks']), known })).to.equal('Check the id: list_tasks finds tasks.');
      expect(hintFor(notFound, { served: new Set(['get_task']), known })).to.equal('Check the task id.');
    });

    it('drops an error’s own hint that names an unserved tool, and leaves words that are no tool names alone', () => {
      const own = new DomainError('SOMETHING_NEW', 422, 'No.', {}, 'Use a role from list_roles; status in_progress counts.');
      expect(hintFor(own, { served: new Set(['get_task']), known })).to.not.include('list_roles');
      expect(hintFor(own, { served: new Set(['list_roles']), known })).to.equal('Use a role from list_roles; status in_progress counts.');
    });
  });
});
