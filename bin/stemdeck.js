#!/usr/bin/env node
// The `stemdeck` command (package bin: `npx stemdeck …` after `npm install`).
// The CLI is TypeScript (src-main/cli/main.ts); tsx, a runtime dependency, is registered as an ESM
// loader so the sources run as they are. Heavy modules (ONNX Runtime, the engine) are imported
// lazily by each command, so `stemdeck --help` starts fast.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src-main/cli/main.ts');
process.exitCode = await main(process.argv);
