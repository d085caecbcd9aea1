import { type ExpressionNode, parseRecipeExpression } from '@trainyard/contracts/recipe-expression';
import { quoteIdent, stringLiteral } from './sql-literals.js';

/**
 * DuckDB SQL for a parsed recipe expression. Every node is written out by us (identifiers quoted,
 * strings re-escaped, every operation parenthesised), so the engine sees exactly the tree the
 * parser accepted and never the user's text.
 */
export function renderExpression(node: ExpressionNode): string {
  switch (node.kind) {
    case 'column':
      return quoteIdent(node.name);
    case 'number':
      return node.text;
    case 'string':
      return stringLiteral(node.value);
    case 'boolean':
      return node.value ? 'TRUE' : 'FALSE';
    case 'null':
      return 'NULL';
    case 'unary':
      return node.op === 'NOT'
        ? `(NOT ${renderExpression(node.operand)})`
        : `(${node.op}${renderExpression(node.operand)})`;
    case 'binary':
      return `(${renderExpression(node.left)} ${node.op} ${renderExpression(node.right)})`;
    case 'is':
      return `(${renderExpression(node.operand)} IS ${node.negated ? 'NOT ' : ''}${node.test})`;
    case 'distinct':
      return `(${renderExpression(node.left)} IS ${node.negated ? 'NOT ' : ''}DISTINCT FROM ${renderExpression(node.right)})`;
    case 'between':
      return `(${renderExpression(node.operand)} ${node.negated ? 'NOT ' : ''}BETWEEN ${renderExpression(node.low)} AND ${renderExpression(node.high)})`;
    case 'in':
      return `(${renderExpression(node.operand)} ${node.negated ? 'NOT ' : ''}IN (${node.list.map(renderExpression).join(', ')}))`;
    case 'like':
      return `(${renderExpression(node.operand)} ${node.negated ? 'NOT ' : ''}${node.op} ${renderExpression(node.pattern)})`;
    case 'call':
      // Function names come from the allow-list and are plain lower-case words.
      return `${node.name}(${node.args.map(renderExpression).join(', ')})`;
    case 'cast':
      return `${node.lenient ? 'TRY_CAST' : 'CAST'}(${renderExpression(node.operand)} AS ${node.type})`;
    case 'case': {
      const parts = ['CASE'];
      if (node.subject) parts.push(renderExpression(node.subject));
      for (const b of node.branches)
        parts.push(`WHEN ${renderExpression(b.when)} THEN ${renderExpression(b.result)}`);
      if (node.otherwise) parts.push(`ELSE ${renderExpression(node.otherwise)}`);
      parts.push('END');
      return `(${parts.join(' ')})`;
    }
  }
}

/** Parses and renders a recipe expression; refusals throw `ExpressionSyntaxError`. */
export function recipeExpressionSql(text: string): string {
  return renderExpression(parseRecipeExpression(text));
}
