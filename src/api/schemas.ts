/** A JSON Schema as ajv, OpenAPI and MCP serve it; the catalog writes its own from zod (`catalog/schemas/`). */
export type JsonSchema = Record<string, unknown>;
