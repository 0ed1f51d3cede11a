import express, { Router } from 'express';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import path from 'node:path';
import { handleOperation } from '../operation-handler.js';
import { openApiDocument } from '../openapi.js';
import { operations } from '../operations.js';

/** URL path of the Swagger UI files, which the HTML page below refers to. */
export const SWAGGER_UI_ASSETS_PATH = '/docs/assets';

/** The files of swagger-ui-dist the page needs. The package's own index.html loads a demo API from the internet, so it stays unserved. */
const SWAGGER_UI_FILES = /^\/(swagger-ui\.css|swagger-ui-bundle\.js|favicon-(16x16|32x32)\.png)(\.map)?$/;

const swaggerUiDirectory = path.dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));

// validatorUrl null keeps Swagger UI from sending the document to validator.swagger.io.
const initScript = `window.addEventListener('load', () => {
  window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#swagger-ui', validatorUrl: null, deepLinking: true, presets: [SwaggerUIBundle.presets.apis], layout: 'BaseLayout' });
});`;

const docsPage = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Doorbell API reference</title>
<link rel="icon" type="image/png" href="${SWAGGER_UI_ASSETS_PATH}/favicon-32x32.png">
<link rel="stylesheet" href="${SWAGGER_UI_ASSETS_PATH}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="${SWAGGER_UI_ASSETS_PATH}/swagger-ui-bundle.js"></script>
<script>${initScript}</script>
</body>
</html>
`;

/**
 * The page may load scripts, styles and data from this host only, which is also what makes it
 * work without internet access. Swagger UI sets inline styles and uses data: images.
 */
const docsContentSecurityPolicy = [
  "default-src 'none'",
  `script-src 'self' 'sha256-${createHash('sha256').update(initScript).digest('base64')}'`,
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Serves the OpenAPI document at /openapi.json and Swagger UI for it at /docs. */
export function docsRouter(): Router {
  const router = Router();
  const documentJson = JSON.stringify(openApiDocument());

  handleOperation(router, operations.openApiDocument, [], (_req, res) => {
    res.type('application/json').send(documentJson);
  });

  handleOperation(router, operations.apiReference, [], (_req, res) => {
    res.setHeader('content-security-policy', docsContentSecurityPolicy);
    res.type('html').send(docsPage);
  });

  // Anything else under the assets path falls through to the API's 404 problem.
  const serveSwaggerUi = express.static(swaggerUiDirectory, { index: false, maxAge: '1h' });
  router.use(SWAGGER_UI_ASSETS_PATH, (req, res, next) => {
    if (SWAGGER_UI_FILES.test(req.path)) {
      serveSwaggerUi(req, res, next);
    } else {
      next();
    }
  });

  return router;
}
