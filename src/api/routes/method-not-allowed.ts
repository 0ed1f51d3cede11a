import { Router } from 'express';
import { expressPath } from '../operation-handler.js';
import { operations, type ApiOperation } from '../operations.js';
import { HttpProblem } from '../problem.js';

/**
 * Answers 405 with an `Allow` header to a request whose path is in the route registry but whose
 * method is not. Mount it after every router, so it only sees requests no route handled.
 */
export function methodNotAllowedRouter(): Router {
  const router = Router();
  const methodsByPath = new Map<string, Set<string>>();
  for (const operation of Object.values<ApiOperation>(operations)) {
    const methods = methodsByPath.get(operation.path) ?? new Set<string>();
    methods.add(operation.method.toUpperCase());
    // Express answers HEAD with the GET route, without the body.
    if (operation.method === 'get') {
      methods.add('HEAD');
    }
    methodsByPath.set(operation.path, methods);
  }

  for (const [path, methods] of methodsByPath) {
    const allow = [...methods].join(', ');
    router.all(expressPath(path), (req) => {
      throw new HttpProblem(405, 'Method Not Allowed', `${req.method} is not allowed on ${req.path}; use ${allow}`, { headers: { allow } });
    });
  }
  return router;
}
