import ts from 'typescript';

/**
 * Reads a spec file with the TypeScript compiler and names what would let it pass without testing:
 * an `it` whose body asserts nothing, a `this.skip()` with no printed reason before it, `.only`, and
 * bare skips (`it.skip`, `xit`, an `it` without a body).
 */

/** Calls that assert: chai's three styles, mocha's `this.skip` aside. */
const ASSERTING = ['expect', 'assert', 'should', 'fail'];

/**
 * Helpers from test/support and friends that assert inside (read them before adding one here):
 * deciderSpec's thenThrows/thenNothingHappened (and `.when(…).then(…)`, told from a promise's then by the when), the MCP spec's ok/refused, redis.ts's requireRedis,
 * search/support's eventually (throws on timeout).
 */
export const ASSERTION_HELPERS = ['thenThrows', 'thenNothingHappened', 'ok', 'refused', 'requireRedis', 'eventually', 'until'];

export type Finding = { file: string; line: number; rule: 'no-assertion' | 'bare-skip' | 'only'; text: string };

const calleeName = (expression: ts.Expression): string | undefined => {
  if (ts.isIdentifier(expression)) return expression.text;
  if (ts.isPropertyAccessExpression(expression)) return expression.name.text;
  if (ts.isCallExpression(expression)) return calleeName(expression.expression);
  return undefined;
};

/** The leftmost name of a call chain: `expect(x).to.equal(y)` → expect, `assert.equal` → assert. */
const rootName = (expression: ts.Expression): string | undefined => {
  let at: ts.Expression = expression;
  for (;;) {
    if (ts.isCallExpression(at) || ts.isPropertyAccessExpression(at) || ts.isElementAccessExpression(at)) at = at.expression;
    else if (ts.isNonNullExpression(at) || ts.isParenthesizedExpression(at) || ts.isAwaitExpression(at)) at = at.expression;
    else break;
  }
  return ts.isIdentifier(at) ? at.text : undefined;
};

const isTestCall = (node: ts.CallExpression, names: readonly string[]): boolean => {
  const callee = node.expression;
  return ts.isIdentifier(callee) && names.includes(callee.text);
};

const isThisSkip = (node: ts.Node): node is ts.CallExpression =>
  ts.isCallExpression(node) &&
  ts.isPropertyAccessExpression(node.expression) &&
  node.expression.name.text === 'skip' &&
  node.expression.expression.kind === ts.SyntaxKind.ThisKeyword;

const printsReason = (statement: ts.Statement): boolean => {
  let found = false;
  const visit = (node: ts.Node): void => {
    if (ts.isCallExpression(node)) {
      const text = node.expression.getText();
      if (/^console\.(error|log|warn|info)$/.test(text) || /^process\.(stderr|stdout)\.write$/.test(text)) found = true;
    }
    if (!found) ts.forEachChild(node, visit);
  };
  visit(statement);
  return found;
};

/** A body that always ends pending (`this.skip()` as one of its own statements): it cannot pass, so needs no assertion. */
const alwaysSkips = (body: ts.Node): boolean =>
  ts.isBlock(body) && body.statements.some((s) => ts.isExpressionStatement(s) && isThisSkip(s.expression));

export const lintSpec = (file: string, source: string): Finding[] => {
  const sf = ts.createSourceFile(file, source, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const findings: Finding[] = [];
  const at = (node: ts.Node, rule: Finding['rule'], text: string) =>
    findings.push({ file, line: sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1, rule, text });

  // Functions of this file that assert (directly or through another such function), by name.
  const asserting = new Set([...ASSERTING, ...ASSERTION_HELPERS]);
  const bodies = new Map<string, ts.Node>();
  const collect = (node: ts.Node): void => {
    if (ts.isFunctionDeclaration(node) && node.name && node.body) bodies.set(node.name.text, node.body);
    if (
      ts.isVariableDeclaration(node) &&
      ts.isIdentifier(node.name) &&
      node.initializer &&
      (ts.isArrowFunction(node.initializer) || ts.isFunctionExpression(node.initializer))
    ) {
      bodies.set(node.name.text, node.initializer.body);
    }
    if ((ts.isPropertyAssignment(node) || ts.isMethodDeclaration(node)) && (ts.isIdentifier(node.name) || ts.isStringLiteral(node.name))) {
      const fn = ts.isPropertyAssignment(node) ? node.initializer : node;
      if ((ts.isArrowFunction(fn) || ts.isFunctionExpression(fn) || ts.isMethodDeclaration(fn)) && fn.body) bodies.set(node.name.text, fn.body);
    }
    ts.forEachChild(node, collect);
  };
  collect(sf);
  const callsAsserting = (body: ts.Node): boolean => {
    let found = false;
    const visit = (node: ts.Node): void => {
      if (ts.isCallExpression(node)) {
        const names = [calleeName(node.expression), rootName(node.expression)];
        if (names.some((n) => n !== undefined && asserting.has(n))) found = true;
        const callee = node.expression;
        if (
          ts.isPropertyAccessExpression(callee) &&
          callee.name.text === 'then' &&
          ts.isCallExpression(callee.expression) &&
          calleeName(callee.expression.expression) === 'when'
        )
          found = true;
      }
      if (!found) ts.forEachChild(node, visit);
    };
    visit(body);
    return found;
  };
  for (let grew = true; grew;) {
    grew = false;
    for (const [name, body] of bodies) {
      if (!asserting.has(name) && callsAsserting(body)) {
        asserting.add(name);
        grew = true;
      }
    }
  }

  const visit = (node: ts.Node): void => {
    if (
      ts.isPropertyAccessExpression(node) &&
      node.name.text === 'only' &&
      ts.isIdentifier(node.expression) &&
      ['it', 'describe', 'context', 'specify'].includes(node.expression.text)
    ) {
      at(node, 'only', `${node.getText(sf)} runs one test and silently drops the rest`);
    }
    if (
      ts.isPropertyAccessExpression(node) &&
      node.name.text === 'skip' &&
      ts.isIdentifier(node.expression) &&
      ['it', 'describe', 'context', 'specify'].includes(node.expression.text)
    ) {
      at(node, 'bare-skip', `${node.getText(sf)} skips without saying why at run time`);
    }
    if (ts.isCallExpression(node) && isTestCall(node, ['xit', 'xdescribe', 'xcontext']))
      at(node, 'bare-skip', `${node.expression.getText(sf)} skips without saying why`);
    if (ts.isCallExpression(node) && isTestCall(node, ['it', 'specify'])) {
      const fn = node.arguments[1];
      const title = node.arguments[0]?.getText(sf).slice(0, 80) ?? '';
      if (!fn) at(node, 'bare-skip', `it(${title}) has no body: a pending test`);
      else if ((ts.isArrowFunction(fn) || ts.isFunctionExpression(fn)) && !callsAsserting(fn.body) && !alwaysSkips(fn.body))
        at(node, 'no-assertion', `it(${title}) asserts nothing`);
    }
    if (isThisSkip(node)) {
      // The statement holding this.skip(), and the block around it: a reason must be printed before it there.
      let statement: ts.Node = node;
      while (statement.parent && !ts.isBlock(statement.parent) && !ts.isSourceFile(statement.parent)) statement = statement.parent;
      const block = statement.parent;
      const before = block && ts.isBlock(block) ? block.statements.slice(0, block.statements.indexOf(statement as ts.Statement)) : [];
      if (!before.some(printsReason)) at(node, 'bare-skip', 'this.skip() without a printed reason before it in the same block');
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return findings;
};
