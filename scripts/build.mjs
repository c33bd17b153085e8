// Bundles the command-line tool (and later the adapter, language server and extension) into dist/.
import { build } from 'esbuild';
import { chmodSync } from 'node:fs';

await build({
  entryPoints: { cli: 'src/cli/main.ts', asm: 'src/asm/index.ts', extension: 'src/extension/extension.ts', lsp: 'src/lsp/main.ts' },
  outdir: 'dist',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  // Provided by the editor that loads the extension.
  external: ['vscode'],
  sourcemap: true,
  banner: { js: '#!/usr/bin/env node' },
  logLevel: 'warning',
});
chmodSync('dist/cli.js', 0o755);
