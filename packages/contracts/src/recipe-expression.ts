/**
 * The expression language of recipe steps (`derive`, `filter`): column references, literals,
 * operators, CASE, CAST and an allow-list of row-wise scalar functions. It is parsed here, and the
 * data engine renders the parsed tree back to SQL itself, so user text never reaches the engine:
 * no subquery, table function, file, extension, ATTACH, PRAGMA, SET or environment access can be
 * spelled in it.
 */

export type ExpressionNode =
  | { kind: 'column'; name: string }
  | { kind: 'number'; text: string }
  | { kind: 'string'; value: string }
  | { kind: 'boolean'; value: boolean }
  | { kind: 'null' }
  | { kind: 'unary'; op: 'NOT' | '-' | '+'; operand: ExpressionNode }
  | { kind: 'binary'; op: BinaryOperator; left: ExpressionNode; right: ExpressionNode }
  | { kind: 'is'; operand: ExpressionNode; negated: boolean; test: 'NULL' | 'TRUE' | 'FALSE' }
  | { kind: 'distinct'; left: ExpressionNode; right: ExpressionNode; negated: boolean }
  | { kind: 'between'; operand: ExpressionNode; low: ExpressionNode; high: ExpressionNode; negated: boolean }
  | { kind: 'in'; operand: ExpressionNode; list: ExpressionNode[]; negated: boolean }
  | { kind: 'like'; op: 'LIKE' | 'ILIKE'; operand: ExpressionNode; pattern: ExpressionNode; negated: boolean }
  | { kind: 'call'; name: string; args: ExpressionNode[] }
  | { kind: 'cast'; operand: ExpressionNode; type: string; lenient: boolean }
  | {
      kind: 'case';
      subject: ExpressionNode | undefined;
      branches: { when: ExpressionNode; result: ExpressionNode }[];
      otherwise: ExpressionNode | undefined;
    };

export type BinaryOperator =
  | 'OR'
  | 'AND'
  | '='
  | '<>'
  | '<'
  | '<='
  | '>'
  | '>='
  | '+'
  | '-'
  | '*'
  | '/'
  | '//'
  | '%'
  | '||';

/**
 * Row-wise scalar functions a recipe expression may call. None of them reads files, the
 * environment, settings or other rows.
 */
export const allowedExpressionFunctions: ReadonlySet<string> = new Set([
  // numbers
  'abs',
  'ceil',
  'ceiling',
  'floor',
  'round',
  'trunc',
  'sqrt',
  'cbrt',
  'exp',
  'ln',
  'log',
  'log2',
  'log10',
  'pow',
  'power',
  'sign',
  'greatest',
  'least',
  'isnan',
  'isinf',
  'isfinite',
  'sin',
  'cos',
  'tan',
  'atan',
  'atan2',
  // nulls and choices
  'coalesce',
  'nullif',
  'ifnull',
  'if',
  // text
  'lower',
  'upper',
  'length',
  'trim',
  'ltrim',
  'rtrim',
  'substr',
  'substring',
  'replace',
  'concat',
  'concat_ws',
  'starts_with',
  'ends_with',
  'contains',
  'strpos',
  'left',
  'right',
  'lpad',
  'rpad',
  'reverse',
  'regexp_matches',
  'regexp_replace',
  'regexp_extract',
  'split_part',
  // dates and times
  'year',
  'month',
  'day',
  'hour',
  'minute',
  'second',
  'dayofweek',
  'dayofyear',
  'week',
  'quarter',
  'epoch',
  'date_part',
  'date_diff',
  'date_trunc',
  'strftime',
  'strptime',
  'make_date',
]);

/** Types `CAST(x AS …)` / `x::…` may name (DuckDB spellings, upper case). */
export const allowedCastTypes: ReadonlySet<string> = new Set([
  'BOOLEAN',
  'TINYINT',
  'SMALLINT',
  'INTEGER',
  'INT',
  'BIGINT',
  'HUGEINT',
  'FLOAT',
  'REAL',
  'DOUBLE',
  'DECIMAL',
  'VARCHAR',
  'TEXT',
  'DATE',
  'TIME',
  'TIMESTAMP',
  'INTERVAL',
]);

/** A recipe expression the language refuses; `position` is the 0-based offset in the text. */
export class ExpressionSyntaxError extends Error {
  readonly position: number;
  constructor(message: string, position: number) {
    super(`${message} (at character ${position + 1})`);
    this.name = 'ExpressionSyntaxError';
    this.position = position;
  }
}

type Token =
  | { type: 'word'; text: string; upper: string; at: number }
  | { type: 'quoted'; text: string; at: number }
  | { type: 'number'; text: string; at: number }
  | { type: 'string'; text: string; at: number }
  | { type: 'symbol'; text: string; at: number }
  | { type: 'end'; at: number };

const symbols = [
  '::',
  '<=',
  '>=',
  '<>',
  '!=',
  '==',
  '||',
  '//',
  '(',
  ')',
  ',',
  '=',
  '<',
  '>',
  '+',
  '-',
  '*',
  '/',
  '%',
];

/** Words that are statements or clauses, never part of an expression: named in refusals. */
const statementWords = new Set([
  'SELECT',
  'FROM',
  'WITH',
  'VALUES',
  'TABLE',
  'ATTACH',
  'DETACH',
  'COPY',
  'INSTALL',
  'LOAD',
  'PRAGMA',
  'SET',
  'RESET',
  'CALL',
  'EXPORT',
  'IMPORT',
  'CREATE',
  'DROP',
  'INSERT',
  'UPDATE',
  'DELETE',
  'ALTER',
  'UNION',
  'EXCEPT',
  'INTERSECT',
  'OVER',
  'EXISTS',
  'SUMMARIZE',
  'DESCRIBE',
  'USE',
]);

const keywords = new Set([
  'AND',
  'OR',
  'NOT',
  'IS',
  'NULL',
  'TRUE',
  'FALSE',
  'BETWEEN',
  'IN',
  'LIKE',
  'ILIKE',
  'CASE',
  'WHEN',
  'THEN',
  'ELSE',
  'END',
  'CAST',
  'TRY_CAST',
  'AS',
  'DISTINCT',
]);

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '-' && text[i + 1] === '-') throw new ExpressionSyntaxError('comments are not allowed', i);
    if (c === '/' && text[i + 1] === '*') throw new ExpressionSyntaxError('comments are not allowed', i);
    if (/[A-Za-z_]/.test(c)) {
      const match = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i)) as RegExpExecArray;
      const word = match[0];
      tokens.push({ type: 'word', text: word, upper: word.toUpperCase(), at: i });
      i += word.length;
      continue;
    }
    if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(text[i + 1] ?? ''))) {
      const match = /^(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?/.exec(
        text.slice(i),
      ) as RegExpExecArray;
      if (/[A-Za-z_]/.test(text[i + match[0].length] ?? '')) {
        throw new ExpressionSyntaxError(`malformed number "${text.slice(i, i + match[0].length + 1)}"`, i);
      }
      tokens.push({ type: 'number', text: match[0], at: i });
      i += match[0].length;
      continue;
    }
    if (c === "'" || c === '"') {
      let value = '';
      let j = i + 1;
      for (;;) {
        if (j >= text.length) {
          throw new ExpressionSyntaxError(
            c === "'" ? 'unterminated string literal' : 'unterminated quoted column name',
            i,
          );
        }
        if (text[j] === c) {
          if (text[j + 1] === c) {
            value += c;
            j += 2;
            continue;
          }
          break;
        }
        value += text[j];
        j++;
      }
      if (c === '"' && value === '') throw new ExpressionSyntaxError('empty quoted column name', i);
      tokens.push({ type: c === "'" ? 'string' : 'quoted', text: value, at: i });
      i = j + 1;
      continue;
    }
    const symbol = symbols.find((s) => text.startsWith(s, i));
    if (symbol) {
      tokens.push({ type: 'symbol', text: symbol, at: i });
      i += symbol.length;
      continue;
    }
    if (c === ';') throw new ExpressionSyntaxError('";" is not allowed: an expression is not a statement', i);
    throw new ExpressionSyntaxError(`unexpected character ${JSON.stringify(c)}`, i);
  }
  tokens.push({ type: 'end', at: text.length });
  return tokens;
}

/** Nesting beyond this is refused, so a crafted expression cannot exhaust the stack. */
const maxDepth = 64;

class Parser {
  readonly #tokens: Token[];
  #index = 0;
  #depth = 0;

  constructor(tokens: Token[]) {
    this.#tokens = tokens;
  }

  get #peek(): Token {
    return this.#tokens[this.#index] as Token;
  }

  #next(): Token {
    const token = this.#peek;
    if (token.type !== 'end') this.#index++;
    return token;
  }

  #isWord(upper: string, offset = 0): boolean {
    const token = this.#tokens[this.#index + offset];
    return token?.type === 'word' && token.upper === upper;
  }

  #isSymbol(text: string): boolean {
    const token = this.#peek;
    return token.type === 'symbol' && token.text === text;
  }

  #acceptWord(upper: string): boolean {
    if (!this.#isWord(upper)) return false;
    this.#index++;
    return true;
  }

  #acceptSymbol(text: string): boolean {
    if (!this.#isSymbol(text)) return false;
    this.#index++;
    return true;
  }

  #expectWord(upper: string): void {
    if (!this.#acceptWord(upper)) throw this.#unexpected(`expected ${upper}`);
  }

  #expectSymbol(text: string): void {
    if (!this.#acceptSymbol(text)) throw this.#unexpected(`expected "${text}"`);
  }

  #unexpected(expectation: string): ExpressionSyntaxError {
    const token = this.#peek;
    if (token.type === 'end') return new ExpressionSyntaxError(`${expectation}, found the end`, token.at);
    if (token.type === 'word' && statementWords.has(token.upper)) {
      return new ExpressionSyntaxError(
        `${token.upper} is not allowed: a recipe expression is made of columns, literals, operators and allowed functions only`,
        token.at,
      );
    }
    const shown =
      token.type === 'string' ? `'${token.text}'` : token.type === 'quoted' ? `"${token.text}"` : token.text;
    return new ExpressionSyntaxError(`${expectation}, found ${shown}`, token.at);
  }

  parseAll(): ExpressionNode {
    const node = this.#expression();
    if (this.#peek.type !== 'end') throw this.#unexpected('expected an operator or the end');
    return node;
  }

  #expression(): ExpressionNode {
    return this.#nested(() => this.#or());
  }

  #or(): ExpressionNode {
    let left = this.#and();
    while (this.#acceptWord('OR')) left = { kind: 'binary', op: 'OR', left, right: this.#and() };
    return left;
  }

  #and(): ExpressionNode {
    let left = this.#not();
    while (this.#acceptWord('AND')) left = { kind: 'binary', op: 'AND', left, right: this.#not() };
    return left;
  }

  #not(): ExpressionNode {
    if (this.#acceptWord('NOT'))
      return { kind: 'unary', op: 'NOT', operand: this.#nested(() => this.#not()) };
    return this.#comparison();
  }

  #nested(parse: () => ExpressionNode): ExpressionNode {
    if (++this.#depth > maxDepth) {
      throw new ExpressionSyntaxError(`nesting deeper than ${maxDepth} levels`, this.#peek.at);
    }
    try {
      return parse();
    } finally {
      this.#depth--;
    }
  }

  #comparison(): ExpressionNode {
    const left = this.#additive();
    const token = this.#peek;
    if (token.type === 'symbol' && ['=', '==', '<>', '!=', '<', '<=', '>', '>='].includes(token.text)) {
      this.#index++;
      const op = (token.text === '==' ? '=' : token.text === '!=' ? '<>' : token.text) as BinaryOperator;
      return { kind: 'binary', op, left, right: this.#additive() };
    }
    if (this.#acceptWord('IS')) {
      const negated = this.#acceptWord('NOT');
      if (this.#acceptWord('NULL')) return { kind: 'is', operand: left, negated, test: 'NULL' };
      if (this.#acceptWord('TRUE')) return { kind: 'is', operand: left, negated, test: 'TRUE' };
      if (this.#acceptWord('FALSE')) return { kind: 'is', operand: left, negated, test: 'FALSE' };
      if (this.#acceptWord('DISTINCT')) {
        this.#expectWord('FROM');
        return { kind: 'distinct', left, right: this.#additive(), negated };
      }
      throw this.#unexpected('expected NULL, TRUE, FALSE or DISTINCT FROM after IS');
    }
    const negated =
      this.#isWord('NOT') &&
      (this.#isWord('BETWEEN', 1) ||
        this.#isWord('IN', 1) ||
        this.#isWord('LIKE', 1) ||
        this.#isWord('ILIKE', 1));
    if (negated) this.#index++;
    if (this.#acceptWord('BETWEEN')) {
      const low = this.#additive();
      this.#expectWord('AND');
      return { kind: 'between', operand: left, low, high: this.#additive(), negated };
    }
    if (this.#acceptWord('IN')) {
      this.#expectSymbol('(');
      if (this.#peek.type === 'word' && statementWords.has(this.#peek.upper)) {
        throw new ExpressionSyntaxError('subqueries are not allowed in a recipe expression', this.#peek.at);
      }
      const list = this.#list();
      return { kind: 'in', operand: left, list, negated };
    }
    for (const op of ['LIKE', 'ILIKE'] as const) {
      if (this.#acceptWord(op))
        return { kind: 'like', op, operand: left, pattern: this.#additive(), negated };
    }
    return left;
  }

  #additive(): ExpressionNode {
    let left = this.#multiplicative();
    for (;;) {
      const token = this.#peek;
      if (token.type !== 'symbol' || !['+', '-', '||'].includes(token.text)) return left;
      this.#index++;
      left = { kind: 'binary', op: token.text as BinaryOperator, left, right: this.#multiplicative() };
    }
  }

  #multiplicative(): ExpressionNode {
    let left = this.#unary();
    for (;;) {
      const token = this.#peek;
      if (token.type !== 'symbol' || !['*', '/', '//', '%'].includes(token.text)) return left;
      this.#index++;
      left = { kind: 'binary', op: token.text as BinaryOperator, left, right: this.#unary() };
    }
  }

  #unary(): ExpressionNode {
    for (const op of ['-', '+'] as const) {
      if (this.#acceptSymbol(op)) return { kind: 'unary', op, operand: this.#nested(() => this.#unary()) };
    }
    let node = this.#primary();
    while (this.#acceptSymbol('::'))
      node = { kind: 'cast', operand: node, type: this.#type(), lenient: false };
    return node;
  }

  #type(): string {
    const token = this.#peek;
    if (token.type !== 'word' || !allowedCastTypes.has(token.upper)) {
      throw this.#unexpected(`expected a type (one of ${[...allowedCastTypes].join(', ')})`);
    }
    this.#index++;
    return token.upper;
  }

  /** Comma-separated expressions up to and including ")". */
  #list(): ExpressionNode[] {
    const items: ExpressionNode[] = [];
    if (this.#acceptSymbol(')')) return items;
    do items.push(this.#expression());
    while (this.#acceptSymbol(','));
    this.#expectSymbol(')');
    return items;
  }

  #primary(): ExpressionNode {
    const token = this.#next();
    switch (token.type) {
      case 'number':
        return { kind: 'number', text: token.text };
      case 'string':
        return { kind: 'string', value: token.text };
      case 'quoted':
        return { kind: 'column', name: token.text };
      case 'symbol':
        if (token.text === '(') {
          if (this.#peek.type === 'word' && statementWords.has(this.#peek.upper)) {
            throw new ExpressionSyntaxError('subqueries are not allowed in a recipe expression', token.at);
          }
          const inner = this.#expression();
          this.#expectSymbol(')');
          return inner;
        }
        this.#index--;
        throw this.#unexpected('expected a column, a literal or a function');
      case 'end':
        throw this.#unexpected('expected a column, a literal or a function');
      case 'word':
        return this.#word(token);
    }
  }

  #word(token: Token & { type: 'word' }): ExpressionNode {
    switch (token.upper) {
      case 'NULL':
        return { kind: 'null' };
      case 'TRUE':
        return { kind: 'boolean', value: true };
      case 'FALSE':
        return { kind: 'boolean', value: false };
      case 'CASE':
        return this.#case();
      case 'CAST':
      case 'TRY_CAST': {
        this.#expectSymbol('(');
        const operand = this.#expression();
        this.#expectWord('AS');
        const type = this.#type();
        this.#expectSymbol(')');
        return { kind: 'cast', operand, type, lenient: token.upper === 'TRY_CAST' };
      }
    }
    if (this.#isSymbol('(')) {
      const name = token.text.toLowerCase();
      if (!allowedExpressionFunctions.has(name)) {
        throw new ExpressionSyntaxError(
          `function "${token.text}" is not allowed in a recipe expression; allowed: ${[...allowedExpressionFunctions].join(', ')}`,
          token.at,
        );
      }
      this.#index++;
      if (this.#isWord('DISTINCT')) throw this.#unexpected('expected an argument');
      return { kind: 'call', name, args: this.#list() };
    }
    if (keywords.has(token.upper) || statementWords.has(token.upper)) {
      this.#index--;
      throw this.#unexpected('expected a column, a literal or a function');
    }
    return { kind: 'column', name: token.text };
  }

  #case(): ExpressionNode {
    const subject = this.#isWord('WHEN') ? undefined : this.#expression();
    const branches: { when: ExpressionNode; result: ExpressionNode }[] = [];
    while (this.#acceptWord('WHEN')) {
      const when = this.#expression();
      this.#expectWord('THEN');
      branches.push({ when, result: this.#expression() });
    }
    if (branches.length === 0) throw this.#unexpected('expected WHEN');
    const otherwise = this.#acceptWord('ELSE') ? this.#expression() : undefined;
    this.#expectWord('END');
    return { kind: 'case', subject, branches, otherwise };
  }
}

/**
 * Parses a recipe expression, throwing {@link ExpressionSyntaxError} for anything outside the
 * language (subqueries, statements, functions not in {@link allowedExpressionFunctions}).
 *
 * @example
 * parseRecipeExpression("age >= 18 AND lower(country) <> 'xx'");
 */
export function parseRecipeExpression(text: string): ExpressionNode {
  return new Parser(tokenize(text)).parseAll();
}
