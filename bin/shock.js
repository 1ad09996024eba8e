#!/usr/bin/env node
// The `shock` binary: runs the compiled CLI (built by `npm install` through the `prepare` script).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  process.stderr.write('shock: the CLI is not built yet; run `npm install` (or `npm run build`) in the project first\n');
  process.exit(70);
}
await import(main.href);
