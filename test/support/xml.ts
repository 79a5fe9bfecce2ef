/**
 * Whether `text` is well-formed XML, checked the strict way a browser's parser would: every tag closed in order,
 * attributes quoted, no raw `<` or stray `&` in text or attribute values. Throws with where it broke.
 * (No XML parser is among the dependencies; this is the part of one a spec needs.)
 */
export const assertWellFormedXml = (text: string): { root: string; elements: number } => {
  const body = text
    .replace(/^\uFEFF?<\?xml[^?]*\?>/, '')
    .replace(/<!DOCTYPE[^>[]*(\[[^\]]*\])?\s*>/, '')
    .replace(/<!--[\s\S]*?-->/g, '');
  const entity = /&(?:[A-Za-z][A-Za-z0-9]*|#\d+|#x[0-9A-Fa-f]+);/g;
  const checkText = (chunk: string, at: number) => {
    if (chunk.includes('<')) throw new Error(`raw < at ${at}`);
    if (chunk.replace(entity, '').includes('&')) throw new Error(`stray & at ${at}: ${chunk.slice(0, 80)}`);
  };
  const tag = /<(\/?)([A-Za-z_][\w:.-]*)((?:\s+[\w:.-]+\s*=\s*(?:"[^"<]*"|'[^'<]*'))*)\s*(\/?)>/g;
  const stack: string[] = [];
  let root = '';
  let elements = 0;
  let last = 0;
  for (let match = tag.exec(body); match; match = tag.exec(body)) {
    checkText(body.slice(last, match.index), last);
    for (const value of match[3]!.matchAll(/=\s*(?:"([^"]*)"|'([^']*)')/g)) checkText(value[1] ?? value[2] ?? '', match.index);
    const [, closing, name, , selfClosing] = match;
    if (closing) {
      if (stack.pop() !== name) throw new Error(`</${name}> at ${match.index} closes nothing open`);
    } else {
      elements++;
      if (stack.length === 0 && root) throw new Error(`a second root element <${name}> at ${match.index}`);
      if (stack.length === 0) root = name!;
      if (!selfClosing) stack.push(name!);
    }
    last = tag.lastIndex;
  }
  checkText(body.slice(last).trim(), last);
  if (stack.length > 0) throw new Error(`unclosed <${stack.join('>, <')}>`);
  if (!root) throw new Error('no root element');
  return { root, elements };
};
