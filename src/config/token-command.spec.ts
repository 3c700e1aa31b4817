import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mintTokenCommand } from './token-command';

describe('mintTokenCommand', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'token-command-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('is the plain npm command from the package folder with the default DATA_DIR', () => {
    expect(mintTokenCommand({ dataDir: join(root, 'data'), cwd: root, packageRoot: root })).toBe(
      'npm run -s token -- --sub alice --tenant acme-corp --roles editor',
    );
  });

  it('names another DATA_DIR, quoted for the shell', () => {
    expect(mintTokenCommand({ dataDir: '/srv/my data', cwd: root, packageRoot: root })).toBe(
      "DATA_DIR='/srv/my data' npm run -s token -- --sub alice --tenant acme-corp --roles editor",
    );
  });

  it('goes to the package folder when the service runs from elsewhere', () => {
    expect(mintTokenCommand({ dataDir: '/srv/reg', cwd: '/somewhere', packageRoot: root })).toBe(
      `cd ${root} && DATA_DIR=/srv/reg npm run -s token -- --sub alice --tenant acme-corp --roles editor`,
    );
  });
});
