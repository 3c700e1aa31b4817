// Builds the console (ui/) into dist/ui/: one script (Preact and the pages, bundled and minified
// by esbuild), one stylesheet and the page. `npm run build` and `npm start` run it after
// `nest build` (which keeps dist/: nest-cli.json deleteOutDir is false). No network, no CDN.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist', 'ui');
mkdirSync(outdir, { recursive: true });
await build({
  entryPoints: [join(root, 'ui', 'src', 'main.tsx')],
  outfile: join(outdir, 'app.js'),
  bundle: true,
  minify: true,
  format: 'iife',
  target: ['es2020'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  legalComments: 'none',
  logLevel: 'warning',
});
copyFileSync(join(root, 'ui', 'index.html'), join(outdir, 'index.html'));
copyFileSync(join(root, 'ui', 'app.css'), join(outdir, 'app.css'));
process.stdout.write(`console built into ${outdir}\n`);
