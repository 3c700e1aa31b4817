import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The README's "Use it" shows examples/use-it.sh word for word, and CI runs that file
 * (scripts/examples/run.sh): this keeps the two from drifting apart.
 */
const ROOT = join(__dirname, '..');
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const script = readFileSync(join(ROOT, 'examples', 'use-it.sh'), 'utf8');

/** The README's fenced bash blocks, each as its text up to the closing fence. */
function bashBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```bash\n([\s\S]*?)^```$/gm)].map((m) => m[1]);
}

describe('README: Use it', () => {
  it('shows examples/use-it.sh exactly, in a bash block of its "Use it" section', () => {
    const section = readme.slice(readme.indexOf('\n## Use it\n'), readme.indexOf('\n## Test it\n'));
    expect(section.length).toBeGreaterThan(0);
    const shown = bashBlocks(section).find((block) => block.startsWith('#!/usr/bin/env bash\n'));
    expect(shown).toBeDefined();
    // toEqual on the lines names the first one that differs
    expect(shown!.split('\n')).toEqual(script.split('\n'));
  });

  it('comes right after "Run it"', () => {
    const headings = [...readme.matchAll(/^## (.+)$/gm)].map((m) => m[1]);
    expect(headings.slice(0, 2)).toEqual(['Run it', 'Use it']);
  });
});
