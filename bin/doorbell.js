#!/usr/bin/env node
// Launcher of the `doorbell` command. It registers tsx, a production dependency, and runs the
// TypeScript entry point in this process, so signals such as Ctrl-C reach the command directly.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
