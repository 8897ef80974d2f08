// docs/config.md's option tables are generated from the schemas (npm run docs:config): the
// committed file must be what the generator writes now.
import * as fs from 'node:fs';
import { CONFIG_DOC, withGeneratedTables } from '../scripts/config-docs';

test('docs/config.md holds the generated option tables (run npm run docs:config after changing lib/config.ts)', () => {
  const committed = fs.readFileSync(CONFIG_DOC, 'utf8');
  expect(withGeneratedTables(committed)).toBe(committed);
});
