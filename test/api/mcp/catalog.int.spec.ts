import { expect } from 'chai';
import { mcpInputSchema, validatingKeywords } from '../../../src/api/mcp/schemas.js';
import { CORE_TOOLS, selectTools, STANDARD_TOOLS } from '../../../src/api/mcp/toolSets.js';
import { servedTools, tokensOf } from '../../../src/api/mcp/tools.js';
import { loadConfig } from '../../../src/config.js';
import { ConfigError } from '../../../src/errors.js';
import { startTestApp, type TestApp } from '../../support/testApp.js';
import { connect } from './support.js';

describe('MCP tools from the operation catalog', () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp();
  });
  after(async () => {
    await app?.close();
  });

  const listTools = async (toolSet: string) => {
    const connected = await connect(app, { toolSet });
    try {
      return await connected.client.listTools();
    } finally {
      await connected.close();
    }
  };

  describe('the single-catalog rule', () => {
    it('serves one tool per catalog operation, named by the operation', async () => {
      const { tools } = await listTools('all');
      expect(tools.map((t) => t.name)).to.deep.equal(app.operations.map((op) => op.tool));
      for (const tool of tools) expect(tool.description).to.equal(app.operations.find((op) => op.tool === tool.name)!.summary);
    });

    it("gives each tool exactly the REST operation's input schema: every validating keyword, only descriptions rationed", async () => {
      const { tools } = await listTools('all');
      for (const tool of tools) {
        const op = app.operations.find((o) => o.tool === tool.name)!;
        const { idempotencyKey: _key, ...properties } = tool.inputSchema.properties ?? {};
        expect(validatingKeywords({ ...tool.inputSchema, properties }), tool.name).to.deep.equal(validatingKeywords(op.input));
        const { description: _d, ...plain } = mcpInputSchema(op.input, { tool: op.tool, terse: true });
        expect(validatingKeywords(plain), tool.name).to.deep.equal(validatingKeywords(op.input));
      }
    });

    it('keeps $defs inside the schema that refers to them', async () => {
      const { tools } = await listTools('all');
      const tree = tools.find((t) => t.name === 'create_task_tree')!;
      expect(JSON.stringify(tree.inputSchema)).to.include('"$ref":"#/$defs/node"');
      expect(tree.inputSchema).to.have.nested.property('$defs.node.properties.children');
    });

    it('declares an object outputSchema for every tool', async () => {
      for (const tool of (await listTools('all')).tools) expect(tool.outputSchema, tool.name).to.include({ type: 'object' });
    });

    it('marks queries read-only, deletions destructive and other writes not', async () => {
      const { tools } = await listTools('all');
      const annotations = (name: string) => tools.find((t) => t.name === name)!.annotations;
      expect(annotations('get_task')).to.deep.equal({ readOnlyHint: true });
      expect(annotations('delete_task')).to.include({ destructiveHint: true, idempotentHint: true });
      expect(annotations('create_task')).to.deep.equal({ destructiveHint: false });
    });
  });

  describe('tool sets', () => {
    // The sets are written out here, not read from toolSets.ts: a tool dropped from (or slipped into) a set fails.
    const AGENT_LOOP = [
      'get_task',
      'list_tasks',
      'claim_next_task',
      'heartbeat_task',
      'complete_task',
      'search_tasks',
      'create_task',
      'add_task_dependency',
      'execute_task',
    ];
    const V2_REST = [
      'create_task_tree',
      'update_task',
      'delete_task',
      'get_task_dashboard',
      'get_task_tree',
      'analyze_task_dependencies',
      'list_roles',
      'assign_role_to_task',
      'change_task_status',
      'get_task_history',
      'remove_task_dependency',
      'release_task',
      'get_critical_path',
      'find_similar_tasks',
      'validate_role_assignment',
      'find_suitable_roles',
    ];
    /** Standard tools Vespera V2 did not have (typed links, issue 15; the Mermaid picture, issue 16). */
    const BEYOND_V2 = ['link_tasks', 'unlink_tasks', 'get_project_graph'];

    it('serves as core exactly the agent loop: find, claim, keep, finish and file work', async () => {
      const names = (await listTools('core')).tools.map((t) => t.name);
      expect(names).to.have.members(AGENT_LOOP);
      expect([...CORE_TOOLS]).to.have.members(AGENT_LOOP);
    });

    it('serves standard as exactly core plus the rest of the V2 tools and typed links', async () => {
      const names = (await listTools('standard')).tools.map((t) => t.name);
      expect(names).to.have.members([...AGENT_LOOP, ...V2_REST, ...BEYOND_V2]);
      expect([...STANDARD_TOOLS]).to.have.members([...AGENT_LOOP, ...V2_REST, ...BEYOND_V2]);
    });

    it('serves a comma list of tool names', async () => {
      expect((await listTools('get_task, list_roles')).tools.map((t) => t.name)).to.deep.equal(['get_task', 'list_roles']);
    });

    it('refuses to start with a tool name the catalog does not have', () => {
      expect(() => selectTools(app.operations, 'get_task,teleport_task')).to.throw(ConfigError, /teleport_task/);
    });

    it('refuses a VESPERA_MCP_TOOLS that is not a set or a list of names', () => {
      expect(() => loadConfig({ VESPERA_MCP_TOOLS: 'core;rm -rf' })).to.throw(ConfigError, /VESPERA_MCP_TOOLS/);
      expect(loadConfig({}).mcpTools).to.equal('standard');
    });

    it('skips set members the catalog does not hold yet', () => {
      const without = app.operations.filter((op) => op.tool !== 'get_task');
      expect(selectTools(without, 'core').map((op) => op.tool)).to.not.include('get_task');
    });
  });

  describe('token budgets (tools/list characters / 4)', () => {
    it('keeps core within 2,500 tokens, with every core tool served in full', async () => {
      const list = await listTools('core');
      expect(tokensOf(list)).to.be.at.most(2_500);
      expect(servedTools(app.operations, 'core').detail).to.equal('full');
      for (const tool of list.tools) expect(tool.title, tool.name).to.be.a('string');
    });

    it('keeps all within 13,000 tokens, core tools still in full', async () => {
      const list = await listTools('all');
      expect(tokensOf(list)).to.be.at.most(13_000);
      for (const tool of list.tools.filter((t) => (CORE_TOOLS as readonly string[]).includes(t.name)))
        expect(tool.title, tool.name).to.be.a('string');
    });
  });
});
