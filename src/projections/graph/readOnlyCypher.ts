/**
 * The guard in front of `graph_query`: a Cypher text is split into tokens the way Kuzu's lexer reads it (strings,
 * backtick names, comments and parameters are single tokens), and only then are its clauses checked, so a word
 * inside a string or a comment never refuses a query and a clause hidden by odd spacing or case never passes.
 * Kuzu refuses writes inside the read-only transaction the query runs in as well; this refuses them first, with a
 * clear message, and refuses what a read-only transaction would still allow (LOAD FROM a file, settings, ATTACH).
 */

export type CypherToken = { kind: 'word' | 'string' | 'name' | 'parameter' | 'number' | 'symbol'; text: string; at: number };

export type CypherRefusal = { reason: string; at: number; clause?: string };

/** Clauses that change the database, its schema, its settings or the files around it. */
const REFUSED = new Set([
  'CREATE',
  'MERGE',
  'SET',
  'DELETE',
  'DETACH',
  'REMOVE',
  'DROP',
  'ALTER',
  'COPY',
  'LOAD',
  'INSTALL',
  'UNINSTALL',
  'ATTACH',
  'USE',
  'EXPORT',
  'IMPORT',
  'BEGIN',
  'COMMIT',
  'ROLLBACK',
  'CHECKPOINT',
  'FOREACH',
  'TRANSACTION',
]);

/** The first word of a query that only reads. */
const FIRST = new Set(['MATCH', 'OPTIONAL', 'UNWIND', 'WITH', 'RETURN', 'CALL', 'EXPLAIN', 'PROFILE']);

/** Table functions that only describe the database; `CALL name=value` (a setting) and every other procedure are refused. */
export const READ_PROCEDURES = new Set(['SHOW_TABLES', 'TABLE_INFO', 'SHOW_CONNECTION', 'DB_VERSION', 'SHOW_FUNCTIONS']);

/** Splits `cypher` into tokens; an unterminated string, name or comment is a refusal. */
export const tokenizeCypher = (cypher: string): CypherToken[] | CypherRefusal => {
  const tokens: CypherToken[] = [];
  let i = 0;
  const n = cypher.length;
  while (i < n) {
    const ch = cypher[i]!;
    const at = i;
    if (/\s/.test(ch)) {
      i++;
    } else if (ch === '/' && cypher[i + 1] === '/') {
      while (i < n && cypher[i] !== '\n') i++;
    } else if (ch === '/' && cypher[i + 1] === '*') {
      const end = cypher.indexOf('*/', i + 2);
      if (end < 0) return { reason: 'The query has a comment that is never closed.', at };
      i = end + 2;
    } else if (ch === "'" || ch === '"') {
      i++;
      while (i < n && cypher[i] !== ch) i += cypher[i] === '\\' ? 2 : 1;
      if (i >= n) return { reason: 'The query has a string that is never closed.', at };
      i++;
      tokens.push({ kind: 'string', text: cypher.slice(at, i), at });
    } else if (ch === '`') {
      i++;
      while (i < n && !(cypher[i] === '`' && cypher[i + 1] !== '`')) i += cypher[i] === '`' ? 2 : 1;
      if (i >= n) return { reason: 'The query has a `name` that is never closed.', at };
      i++;
      tokens.push({ kind: 'name', text: cypher.slice(at, i), at });
    } else if (ch === '$') {
      i++;
      while (i < n && /\w/.test(cypher[i]!)) i++;
      tokens.push({ kind: 'parameter', text: cypher.slice(at, i), at });
    } else if (/[A-Za-z_]/.test(ch)) {
      while (i < n && /\w/.test(cypher[i]!)) i++;
      tokens.push({ kind: 'word', text: cypher.slice(at, i), at });
    } else if (/\d/.test(ch)) {
      while (i < n && /[\w.]/.test(cypher[i]!)) i++;
      tokens.push({ kind: 'number', text: cypher.slice(at, i), at });
    } else {
      i++;
      tokens.push({ kind: 'symbol', text: ch, at });
    }
  }
  return tokens;
};

/** Undefined when `cypher` is one statement that only reads; else why not, and where. */
export const refuseUnlessReadOnly = (cypher: string): CypherRefusal | undefined => {
  const tokens = tokenizeCypher(cypher);
  if (!Array.isArray(tokens)) return tokens;
  if (tokens.length === 0) return { reason: 'The query is empty.', at: 0 };
  const first = tokens[0]!;
  if (first.kind !== 'word' || !FIRST.has(first.text.toUpperCase())) {
    return { reason: `A read-only query starts with MATCH, OPTIONAL MATCH, UNWIND, WITH, RETURN or CALL, not "${first.text}".`, at: first.at };
  }
  for (let k = 0; k < tokens.length; k++) {
    const token = tokens[k]!;
    if (token.kind === 'symbol' && token.text === ';' && k < tokens.length - 1) {
      return { reason: 'Send one statement per query.', at: token.at };
    }
    if (token.kind !== 'word') continue;
    // A property (`t.set`) is a name, not a clause.
    if (tokens[k - 1]?.kind === 'symbol' && tokens[k - 1]!.text === '.') continue;
    const word = token.text.toUpperCase();
    if (REFUSED.has(word)) return { reason: `${word} is not allowed: graph queries only read.`, at: token.at, clause: word };
    if (word === 'CALL') {
      const procedure = tokens[k + 1];
      const name = procedure?.kind === 'word' ? procedure.text.toUpperCase() : undefined;
      if (!name || !READ_PROCEDURES.has(name) || tokens[k + 2]?.text !== '(') {
        return {
          reason: `CALL may only run ${[...READ_PROCEDURES].map((p) => p.toLowerCase()).join(', ')}.`,
          at: token.at,
          clause: 'CALL',
        };
      }
    }
  }
  return undefined;
};
