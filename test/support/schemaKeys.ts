/** Where a schema has an object schema that says nothing of its keys (which openapi-typescript types as `Record<string, never>`). */
export const objectsWithoutKeys = (node: unknown, at: string): string[] => {
  if (Array.isArray(node)) return node.flatMap((item, i) => objectsWithoutKeys(item, `${at}/${i}`));
  if (!node || typeof node !== 'object') return [];
  const schema = node as Record<string, unknown>;
  const types = Array.isArray(schema.type) ? schema.type : [schema.type];
  const unsaid = types.includes('object') && !['properties', 'additionalProperties', 'patternProperties'].some((k) => k in schema) ? [at] : [];
  return [
    ...unsaid,
    ...Object.entries(schema)
      .filter(([k]) => !['enum', 'const', 'default', 'examples'].includes(k))
      .flatMap(([k, v]) => objectsWithoutKeys(v, `${at}/${k}`)),
  ];
};
