import { Router } from 'express';
import type { Filter } from 'mongodb';
import { createApiKey, revokeApiKey } from '../../domain/api-keys.js';
import type { ApiKeyDocument } from '../../store/documents.js';
import type { ApiContext } from '../context.js';
import { jsonBody } from '../json-body.js';
import { handleOperation } from '../operation-handler.js';
import { operations } from '../operations.js';
import { HttpProblem, requireJsonBody } from '../problem.js';
import { apiKeyView } from '../views.js';

/** Key management, for admin keys only (see the registry). */
export function apiKeysRouter(ctx: ApiContext): Router {
  const router = Router();
  const parseJson = jsonBody({ limitBytes: ctx.config.api.maxRequestBodyBytes });

  handleOperation(router, operations.createApiKey, [requireJsonBody, parseJson], async (_req, res, input) => {
    const { body, caller } = input;
    const { key, token } = await createApiKey(ctx.store, { name: body.name, role: body.role, accountId: body.account });

    ctx.logger.info({ apiKeyId: key._id, role: key.role, accountId: key.accountId, createdBy: caller.keyId }, 'API key created');
    res.status(201).location(`/v1/api-keys/${key._id}`).json({ ...apiKeyView(key), token });
  });

  handleOperation(router, operations.listApiKeys, [], async (_req, res, input) => {
    const { query } = input;
    const filter: Filter<ApiKeyDocument> = {};
    if (query.role !== undefined) {
      filter.role = query.role;
    }
    if (query.cursor !== undefined) {
      filter._id = { $gt: query.cursor };
    }

    const page = await ctx.store.apiKeys.find(filter).sort({ _id: 1 }).limit(query.limit).toArray();
    res.json({
      data: page.map(apiKeyView),
      nextCursor: page.length === query.limit ? page[page.length - 1]!._id : null,
    });
  });

  handleOperation(router, operations.getApiKey, [], async (_req, res, input) => {
    const { id } = input.path;
    const key = await ctx.store.apiKeys.findOne({ _id: id });
    if (key === null) {
      throw HttpProblem.notFound('API key', id);
    }
    res.json(apiKeyView(key));
  });

  handleOperation(router, operations.revokeApiKey, [], async (_req, res, input) => {
    const { path, caller } = input;
    const key = await revokeApiKey(ctx.store, path.id);
    if (key === null) {
      throw HttpProblem.notFound('API key', path.id);
    }

    ctx.logger.info({ apiKeyId: key._id, revokedBy: caller.keyId }, 'API key revoked');
    res.json(apiKeyView(key));
  });

  return router;
}
