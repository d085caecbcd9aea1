import { ErrorBody } from '@trainyard/contracts/errors';
import { restApi } from '@trainyard/contracts/rest-api';
import type { RouteContract } from '@trainyard/contracts/route';
import { z } from 'zod';

function schemaOf(type: z.ZodType, io: 'input' | 'output') {
  const { $schema: _s, ...schema } = z.toJSONSchema(type, { io, unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
  return schema;
}

function parametersOf(route: RouteContract) {
  const out: Record<string, unknown>[] = [];
  for (const [where, type] of [
    ['path', route.params],
    ['query', route.query],
  ] as const) {
    if (!type) continue;
    const schema = schemaOf(type, 'input') as { properties?: Record<string, unknown>; required?: string[] };
    for (const [name, property] of Object.entries(schema.properties ?? {})) {
      out.push({
        name,
        in: where,
        required: where === 'path' || (schema.required ?? []).includes(name),
        schema: property,
      });
    }
  }
  return out;
}

/** The OpenAPI 3.1 document of /api/v1, generated from the same zod contracts that validate requests. */
export function buildOpenApiDocument(version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const [operationId, route] of Object.entries(restApi) as [string, RouteContract][]) {
    const path = route.path.replace(/:([a-zA-Z]+)/g, '{$1}');
    const operation: Record<string, unknown> = {
      operationId,
      summary: route.summary,
      tags: [route.tag],
      parameters: parametersOf(route),
      responses: {
        [String(route.status ?? 200)]: {
          description: 'Success',
          content: { 'application/json': { schema: schemaOf(route.response, 'output') } },
        },
        default: {
          description: 'Error',
          content: { 'application/json': { schema: schemaOf(ErrorBody, 'output') } },
        },
      },
      ...(route.access === 'public' ? { security: [] } : { 'x-trainyard-access': route.access }),
    };
    if (route.body) {
      operation.requestBody = {
        required: true,
        content: { 'application/json': { schema: schemaOf(route.body, 'input') } },
      };
    }
    if (route.rawBody) {
      operation.requestBody = {
        required: true,
        content: { '*/*': { schema: { type: 'string', format: 'binary' } } },
      };
    }
    paths[path] = { ...(paths[path] ?? {}), [route.method.toLowerCase()]: operation };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Trainyard REST API', version },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    security: [{ bearer: [] }],
    paths,
  };
}
