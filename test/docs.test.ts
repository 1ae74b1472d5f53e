// Keeps the documentation true: every setting is in the README's table and every error code
// the source can produce is in the API reference's catalogue.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SETTINGS } from '../src/config.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), 'utf8');

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const relative = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(relative);
    return entry.name.endsWith('.ts') ? [relative] : [];
  });
}

describe('documentation', () => {
  it('lists every setting in the README with its flag', () => {
    const readme = read('README.md');
    for (const setting of SETTINGS) {
      assert.ok(readme.includes(`| \`${setting.env}\` | \`--${setting.flag}\` |`), setting.env);
    }
  });

  it('catalogues every error code in docs/api.md', () => {
    const settingNames = new Set(SETTINGS.map((setting) => setting.env));
    const api = read('docs/api.md');
    const codes = new Set<string>();
    for (const file of sourceFiles('src')) {
      for (const match of read(file).matchAll(/'(TTSQ_[A-Z_]+)'/g)) codes.add(match[1] ?? '');
    }
    const missing = [...codes].filter(
      (code) => !settingNames.has(code) && !api.includes(`\`${code}\``),
    );
    assert.deepEqual(missing, []);
  });
});
