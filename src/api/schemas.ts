/** A JSON Schema as ajv, OpenAPI and MCP serve it; the catalog writes its own from zod (`catalog/schemas/`). */
export type JsonSchema = Record<string, unknown>;

export const TOOL_GROUPS = [
  'code_writing',
  'code_analysis',
  'testing',
  'deployment',
  'documentation',
  'project_management',
  'data_analysis',
  'design',
] as const;
