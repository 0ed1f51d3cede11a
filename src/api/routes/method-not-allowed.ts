import type { RequestHandler } from 'express';
import { operations, type ApiOperation } from '../operations.js';
import { HttpProblem } from '../problem.js';

/**
 * Responds 405 with an `Allow` header to a request whose path is in the route registry but whose
 * method is not. Mount it after every router, so it only sees requests no route handled.
 */
export function methodNotAllowed(): RequestHandler {
  const methodsByPath = new Map<string, Set<string>>();
  for (const operation of Object.values<ApiOperation>(operations)) {
    const methods = methodsByPath.get(operation.path) ?? new Set<string>();
    methods.add(operation.method.toUpperCase());
    // Express serves HEAD with the GET route, without the body.
    if (operation.method === 'get') {
      methods.add('HEAD');
    }
    methodsByPath.set(operation.path, methods);
  }

  const paths = [...methodsByPath].map(([template, methods]) => ({ pattern: templatePattern(template), allow: [...methods].join(', ') }));

  return (req, _res, next) => {
    const match = paths.find((path) => path.pattern.test(req.path));
    if (match === undefined) {
      next();
      return;
    }
    throw new HttpProblem(405, 'Method Not Allowed', `${req.method} is not allowed on ${req.path}; use ${match.allow}`, { headers: { allow: match.allow } });
  };
}

/** Turns an OpenAPI path template into a pattern where each `{parameter}` matches one path segment. */
function templatePattern(template: string): RegExp {
  const source = template
    .split(/\{[A-Za-z0-9_]+\}/)
    .map((literal) => literal.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('[^/]+');
  return new RegExp(`^${source}/?$`);
}
