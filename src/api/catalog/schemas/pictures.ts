import { z } from 'zod';
import * as c from './common.js';

/** Input and output schemas of the dependency pictures (`../pictures.ts`). */

export const GRAPH_FORMATS = ['json', 'mermaid', 'dot', 'svg'] as const;

const node = z.object({
  id: z.string(),
  title: z.string(),
  status: z.string(),
  priority: z.string(),
  estimate: z.number().nullable(),
  critical: z.boolean().describe('Open and without slack'),
  slack: z.number().describe('Hours the task may slip without moving the project end'),
});
const edge = z.object({ from: z.string().describe('The task that waits'), to: z.string().describe('What it depends on'), kind: c.kind });

export const getProjectGraph = {
  input: z.strictObject({
    projectId: c.projectId,
    format: z.enum(GRAPH_FORMATS).optional().describe('json (REST default), mermaid (MCP default), dot or svg'),
  }),
  output: z.object({
    projectId: z.string(),
    nodes: z.array(node).optional().describe('format json'),
    edges: z.array(edge).optional().describe('format json'),
    criticalPath: z.array(z.string()).describe('The first critical chain, earliest task first'),
    position: z.int().describe('Log position the read model had applied'),
    format: z.enum(GRAPH_FORMATS).optional().describe('formats other than json'),
    text: z.string().optional().describe('The picture (formats other than json)'),
  }),
};
