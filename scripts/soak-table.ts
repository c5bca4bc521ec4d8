/**
 * The soak summary table of docs/soak.md from the soak folders' results.json:
 *   npm run soak-table -- docs/results/soak-*-100k
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchResults } from '../src/bench/types.ts';
import { renderSoakTable } from '../src/report/index.ts';

const dirs = process.argv.slice(2);
if (dirs.length === 0) {
  console.error('usage: npm run soak-table -- <bench output folder>...');
  process.exit(2);
}
const sets: BenchResults[] = [];
for (const dir of dirs) {
  const file = join(dir, 'results.json');
  // A soak still under way has domain files but no results.json yet: left out, said so.
  if (existsSync(file)) sets.push(JSON.parse(readFileSync(file, 'utf8')) as BenchResults);
  else console.error(`${dir}: no results.json (unfinished?), left out`);
}
console.log(renderSoakTable(sets));
