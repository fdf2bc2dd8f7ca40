/**
 * The layers' import directions, checked on every .ts file of the project:
 *
 *   options/  imports nothing of the project
 *   wire/     options/ only                      (the HTTP/1.1 wire: bottom layer)
 *   app/      wire/, options/
 *   server/   app/, wire/, options/              (never proxy/)
 *   proxy/    wire/, options/                    (never server/, never app/)
 *   stack/    server/, proxy/, app/, wire/, options/
 *   bench/, test/  anything
 *
 * A folder not in the table fails the test until someone decides where it sits.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** What each top-level folder may import besides itself; null: anything. */
const ALLOWED: Readonly<Record<string, readonly string[] | null>> = {
  options: [],
  wire: ['options'],
  app: ['wire', 'options'],
  server: ['app', 'wire', 'options'],
  proxy: ['wire', 'options'],
  stack: ['server', 'proxy', 'app', 'wire', 'options'],
  bench: null,
  test: null,
};

/** Folders that hold no project source. */
const SKIPPED = new Set(['node_modules', 'dist', '.git', 'docs']);

/** Every .ts file below `dir`, as paths relative to ROOT. */
function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.') || SKIPPED.has(entry.name)) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(path));
    else if (entry.isFile() && entry.name.endsWith('.ts')) out.push(relative(ROOT, path));
  }
  return out;
}

// `import … from '…'`, `export … from '…'`, `import '…'`, `import('…')`, across line breaks.
const SPECIFIERS = /\b(?:import|export)\s+(?:type\s+)?(?:[\w*{}\s,$]+?\s+from\s+)?['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

/** One import that breaks the table. */
interface Violation {
  file: string;
  line: number;
  specifier: string;
  from: string;
  to: string;
}

/** The layer (top-level folder) of a path relative to ROOT; '' for a file at the root. */
function layerOf(path: string): string {
  const i = path.indexOf(sep);
  return i === -1 ? '' : path.slice(0, i);
}

/** Check one file's text; `file` is relative to ROOT. */
export function violationsIn(file: string, text: string): Violation[] {
  const from = layerOf(file);
  const allowed = ALLOWED[from];
  if (allowed === undefined) return [{ file, line: 1, specifier: '', from, to: '(a folder the import table does not know)' }];
  if (allowed === null) return [];
  const out: Violation[] = [];
  for (const match of text.matchAll(SPECIFIERS)) {
    const specifier = match[1] ?? match[2]!;
    if (!specifier.startsWith('.')) continue; // packages and node: builtins
    const target = relative(ROOT, resolve(ROOT, dirname(file), specifier));
    const to = layerOf(target);
    if (to === from || allowed.includes(to)) continue;
    const line = text.slice(0, match.index).split('\n').length;
    out.push({ file, line, specifier, from, to: to === '' ? target : to });
  }
  return out;
}

describe('import directions', () => {
  it('every file imports only the layers below its own', () => {
    const files = sourceFiles(ROOT);
    assert.ok(files.length > 100, `expected the project's files, found ${files.length}`);
    const violations = files.flatMap((file) => violationsIn(file, readFileSync(join(ROOT, file), 'utf8')));
    assert.deepEqual(
      violations.map((v) => `${v.file}:${v.line} (${v.from}/) imports ${v.specifier} (${v.to}/)`),
      [],
      'forbidden imports (see the table at the top of test/import-direction.test.ts)',
    );
  });

  it('catches each kind of import statement', () => {
    const text = [
      "import { a } from '../server/x.ts';",
      "import type { B } from '../app/b.ts';",
      "export { c } from '../server/c.ts';",
      "import '../stack/side-effect.ts';",
      'const m = await import("../server/lazy.ts");',
      "import {\n  d,\n  e,\n} from '../server/split.ts';",
      "import { ok } from './sibling.ts';",
      "import { fine } from '../wire/fine.ts';",
      "import { pkg } from 'node:fs';",
    ].join('\n');
    const found = violationsIn(join('proxy', 'example.ts'), text).map((v) => `${v.line} ${v.to}`);
    assert.deepEqual(found, ['1 server', '2 app', '3 server', '4 stack', '5 server', '6 server']);
    assert.deepEqual(violationsIn(join('proxy', 'front', 'deep.ts'), "import { x } from '../../server/x.ts';").map((v) => v.to), ['server']);
    assert.deepEqual(violationsIn(join('wire', 'x.ts'), "import { y } from '../proxy/y.ts';").map((v) => v.to), ['proxy']);
    assert.deepEqual(violationsIn(join('options', 'x.ts'), "import { y } from '../wire/y.ts';").map((v) => v.to), ['wire']);
    assert.deepEqual(violationsIn(join('server', 'x.ts'), "import { y } from '../proxy/y.ts';").map((v) => v.to), ['proxy']);
    assert.deepEqual(violationsIn(join('app', 'x.ts'), "import { y } from '../stack/y.ts';").map((v) => v.to), ['stack']);
    assert.deepEqual(violationsIn(join('bench', 'x.ts'), "import { y } from '../stack/y.ts';"), []);
    assert.equal(violationsIn(join('newfolder', 'x.ts'), '').length, 1, 'an unknown folder must be placed in the table');
  });
});
