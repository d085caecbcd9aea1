import { SageMakerError } from './sagemaker-error.js';
import { type ModelShape, operationInputs, shapes } from './sagemaker-model.generated.js';

/** AWS names members in lowerCamel, dotted: `processingResources.clusterConfig.instanceCount`. */
function memberPath(parent: string, member: string): string {
  const camel = member.charAt(0).toLowerCase() + member.slice(1);
  return parent === '' ? camel : `${parent}.${camel}`;
}

function shown(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > 100 ? `${text.slice(0, 100)}…` : text;
}

const compiled = new Map<string, RegExp>();
function patternOf(shape: ModelShape): RegExp | undefined {
  if (!shape.pattern) return undefined;
  const key = `${shape.pattern.flags}/${shape.pattern.source}`;
  let regex = compiled.get(key);
  if (!regex) {
    regex = new RegExp(`^(?:${shape.pattern.source})$`, shape.pattern.flags);
    compiled.set(key, regex);
  }
  return regex;
}

/**
 * Checks `input` against the operation's input shape from the service model and throws one
 * ValidationException listing every problem the way AWS words them ("1 validation error
 * detected: Value '…' at 'processingJobName' failed to satisfy constraint: …"). Members the
 * model does not know are ignored, as AWS does.
 */
export function validateInput(operation: string, input: unknown): void {
  const entry = operationInputs[operation];
  if (!entry) throw new SageMakerError('UnknownOperationException', 400, `Unknown operation ${operation}`);
  const problems: string[] = [];
  check(entry.input, input, '', problems);
  if (problems.length > 0) {
    const count = problems.length === 1 ? '1 validation error' : `${problems.length} validation errors`;
    throw new SageMakerError('ValidationException', 400, `${count} detected: ${problems.join('; ')}`);
  }
}

function check(shapeName: string, value: unknown, path: string, problems: string[]): void {
  const shape = shapes[shapeName];
  if (!shape || problems.length >= 10) return;
  const at = path === '' ? 'the request' : `'${path}'`;
  const fail = (constraint: string) =>
    problems.push(`Value '${shown(value)}' at ${at} failed to satisfy constraint: ${constraint}`);
  switch (shape.type) {
    case 'structure': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        fail('Member must be an object');
        return;
      }
      const record = value as Record<string, unknown>;
      for (const name of shape.required ?? []) {
        if (record[name] === undefined || record[name] === null) {
          problems.push(
            `Value null at '${memberPath(path, name)}' failed to satisfy constraint: Member must not be null`,
          );
        }
      }
      for (const [name, member] of Object.entries(shape.members ?? {})) {
        const child = record[name];
        if (child !== undefined && child !== null) check(member, child, memberPath(path, name), problems);
      }
      return;
    }
    case 'list': {
      if (!Array.isArray(value)) {
        fail('Member must be a list');
        return;
      }
      if (shape.min !== undefined && value.length < shape.min)
        fail(`Member must have length greater than or equal to ${shape.min}`);
      if (shape.max !== undefined && value.length > shape.max)
        fail(`Member must have length less than or equal to ${shape.max}`);
      for (const [i, item] of value.entries())
        check(shape.member ?? '', item, `${path}.${i + 1}.member`, problems);
      return;
    }
    case 'map': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        fail('Member must be a map');
        return;
      }
      const entries = Object.entries(value as Record<string, unknown>);
      if (shape.min !== undefined && entries.length < shape.min)
        fail(`Member must have length greater than or equal to ${shape.min}`);
      if (shape.max !== undefined && entries.length > shape.max)
        fail(`Member must have length less than or equal to ${shape.max}`);
      for (const [key, item] of entries) {
        check(shape.key ?? '', key, `${path}.${key}.key`, problems);
        check(shape.value ?? '', item, `${path}.${key}.value`, problems);
      }
      return;
    }
    case 'string': {
      if (typeof value !== 'string') {
        fail('Member must be a string');
        return;
      }
      if (shape.min !== undefined && value.length < shape.min)
        fail(`Member must have length greater than or equal to ${shape.min}`);
      if (shape.max !== undefined && value.length > shape.max)
        fail(`Member must have length less than or equal to ${shape.max}`);
      if (shape.enum && !shape.enum.includes(value))
        fail(`Member must satisfy enum value set: [${shape.enum.join(', ')}]`);
      const pattern = patternOf(shape);
      if (pattern && !pattern.test(value))
        fail(`Member must satisfy regular expression pattern: ${shape.pattern?.source}`);
      return;
    }
    case 'integer':
    case 'long':
    case 'float':
    case 'double': {
      const integral = shape.type === 'integer' || shape.type === 'long';
      if (typeof value !== 'number' || !Number.isFinite(value) || (integral && !Number.isInteger(value))) {
        fail(integral ? 'Member must be an integer' : 'Member must be a number');
        return;
      }
      if (shape.min !== undefined && value < shape.min)
        fail(`Member must have value greater than or equal to ${shape.min}`);
      if (shape.max !== undefined && value > shape.max)
        fail(`Member must have value less than or equal to ${shape.max}`);
      return;
    }
    case 'boolean':
      if (typeof value !== 'boolean') fail('Member must be a boolean');
      return;
    case 'timestamp':
      // JSON 1.1 sends epoch seconds; accept ISO 8601 text as AWS does.
      if (
        !(typeof value === 'number' && Number.isFinite(value)) &&
        !(typeof value === 'string' && !Number.isNaN(Date.parse(value)))
      )
        fail('Member must be a timestamp (epoch seconds)');
      return;
    case 'blob':
      if (typeof value !== 'string') fail('Member must be base64 text');
      return;
  }
}
