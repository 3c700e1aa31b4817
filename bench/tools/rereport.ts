/*
 * Rewrites BENCHMARKS.md from a saved full run and the current bench/analysis.md, without
 * measuring again: `npx ts-node --transpile-only --project bench/tsconfig.json
 * bench/tools/rereport.ts [bench-results/<run>-full.json]` (default: the latest full run).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../lib/env';
import { report, Results } from '../report';

const file = process.argv[2] ?? join(ROOT, 'bench-results', 'latest-full.json');
const results = JSON.parse(readFileSync(file, 'utf8')) as Results;
const analysis = readFileSync(join(ROOT, 'bench', 'analysis.md'), 'utf8');
writeFileSync(join(ROOT, 'BENCHMARKS.md'), report(results, analysis));
process.stdout.write(`BENCHMARKS.md rewritten from ${file}\n`);
