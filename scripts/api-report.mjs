// The public API of each public package, one Markdown file per package (api/<name>.api.md),
// committed so that a change to what users can import shows up in review.
//
// For every entry point in package.json `exports` that has `types`, the built declaration
// file is loaded with the TypeScript compiler and every export is printed as its declaration
// signature, sorted by name, doc comments left out (`@internal`, `@deprecated`, `@beta` and
// `@alpha` tags are kept as markers). Declarations of the package that the API refers to but
// no entry point exports are listed after the exports, since changing them changes the API too.
//
//   node scripts/api-report.mjs           write api/*.api.md
//   node scripts/api-report.mjs --check   compare with the committed files; exit 1 naming the
//                                         package and the first differing line
//
// It reads dist/, so the packages must be built first (turbo's //#api:check does that).
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

const root = resolve(new URL('..', import.meta.url).pathname);
const apiDir = join(root, 'api');
const check = process.argv.includes('--check');
const MARKER_TAGS = ['internal', 'deprecated', 'beta', 'alpha'];

/** Public (non-private) workspaces under packages/, in name order. */
function publicPackages() {
  const dir = join(root, 'packages');
  return readdirSync(dir)
    .sort()
    .map((name) => join(dir, name))
    .filter((d) => existsSync(join(d, 'package.json')))
    .map((d) => ({ dir: d, json: JSON.parse(readFileSync(join(d, 'package.json'), 'utf8')) }))
    .filter((p) => !p.json.private);
}

/** `exports` entries with a `types` condition: [subpath, absolute .d.ts path]. */
function entryPoints(pkg) {
  const exp = pkg.json.exports;
  const map = typeof exp === 'string' || exp?.types ? { '.': exp } : (exp ?? {});
  const entries = [];
  for (const [subpath, target] of Object.entries(map)) {
    const types = typeof target === 'object' && target !== null ? target.types : undefined;
    if (typeof types === 'string') entries.push([subpath, resolve(pkg.dir, types)]);
  }
  return entries.sort(([a], [b]) => compare(a, b));
}

function compare(a, b) {
  return a < b ? -1 : a > b ? 1 : 0;
}

const packages = publicPackages().map((pkg) => ({ ...pkg, entries: entryPoints(pkg) }));
const missing = packages.flatMap((p) => p.entries.filter(([, file]) => !existsSync(file)));
if (missing.length > 0) {
  console.error(
    `api-report: ${missing.map(([, f]) => relative(root, f)).join(', ')} missing: ` +
      'build the packages first (pnpm turbo run build --filter "./packages/*").',
  );
  process.exit(1);
}

const program = ts.createProgram(
  packages.flatMap((p) => p.entries.map(([, file]) => file)),
  {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    lib: ['lib.es2023.d.ts', 'lib.dom.d.ts'],
    types: ['node'],
    typeRoots: [join(root, 'node_modules/@types')],
    noEmit: true,
    skipLibCheck: true,
  },
);
const checker = program.getTypeChecker();
const printer = ts.createPrinter({ newLine: ts.NewLineKind.LineFeed });

function resolveAlias(symbol) {
  return symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
}

/** The statement to print for a declaration: a variable's whole `declare const` statement. */
function statementOf(decl) {
  if (ts.isVariableDeclaration(decl)) return decl.parent.parent;
  return decl;
}

/** The statement of the file that holds a declaration (`declare global { … }` for one inside it). */
function topLevelStatementOf(decl) {
  let node = statementOf(decl);
  while (node.parent && !ts.isSourceFile(node.parent)) node = node.parent;
  return node;
}

/** Drop every comment; mark declarations that carry a release or internal tag. */
function prepare(node) {
  const visit = (n) => {
    ts.setEmitFlags(n, ts.EmitFlags.NoComments);
    const tags = ts.getJSDocTags(n).map((t) => t.tagName.text);
    for (const tag of MARKER_TAGS) {
      if (tags.includes(tag)) {
        ts.addSyntheticLeadingComment(n, ts.SyntaxKind.SingleLineCommentTrivia, ` @${tag}`, true);
      }
    }
    ts.forEachChild(n, visit);
  };
  visit(node);
}

const printed = new Map();
function print(statement) {
  let text = printed.get(statement);
  if (text === undefined) {
    prepare(statement);
    text = printer.printNode(ts.EmitHint.Unspecified, statement, statement.getSourceFile());
    printed.set(statement, text);
  }
  return text;
}

function declarationsOf(symbol) {
  return (symbol.declarations ?? [])
    .slice()
    .sort(
      (a, b) =>
        compare(a.getSourceFile().fileName, b.getSourceFile().fileName) ||
        a.getStart() - b.getStart(),
    );
}

/** Symbols that `node` refers to in type positions, heritage clauses and `typeof` queries. */
function referencedSymbols(node, out) {
  const visit = (n) => {
    let name;
    if (ts.isTypeReferenceNode(n)) name = n.typeName;
    else if (ts.isExpressionWithTypeArguments(n)) name = n.expression;
    else if (ts.isTypeQueryNode(n)) name = n.exprName;
    else if (ts.isImportTypeNode(n)) name = n.qualifier;
    if (name) {
      const leftmost = leftmostOf(name);
      for (const id of new Set([name, leftmost])) {
        const s = checker.getSymbolAtLocation(ts.isQualifiedName(id) ? id.right : id);
        if (s) out.add(resolveAlias(s));
      }
    }
    ts.forEachChild(n, visit);
  };
  visit(node);
}

function leftmostOf(name) {
  let n = name;
  while (ts.isQualifiedName(n) || ts.isPropertyAccessExpression(n)) {
    n = ts.isQualifiedName(n) ? n.left : n.expression;
  }
  return n;
}

function fence(lines) {
  return ['```ts', ...lines, '```'];
}

function report(pkg) {
  const distDir = `${join(pkg.dir, 'dist')}/`;
  const inPackage = (symbol) =>
    (symbol.declarations ?? []).some((d) => d.getSourceFile().fileName.startsWith(distDir));
  const exported = new Set();
  const sections = [];
  const referenced = new Set();

  for (const [subpath, file] of pkg.entries) {
    const source = program.getSourceFile(file);
    const moduleSymbol = source && checker.getSymbolAtLocation(source);
    if (!moduleSymbol) throw new Error(`${relative(root, file)} is not a module`);
    const specifier = subpath === '.' ? pkg.json.name : `${pkg.json.name}/${subpath.slice(2)}`;
    const blocks = [];
    const exports = checker
      .getExportsOfModule(moduleSymbol)
      .slice()
      .sort((a, b) => compare(a.name, b.name));
    for (const exp of exports) {
      const target = resolveAlias(exp);
      exported.add(target);
      const lines = [];
      if (target.flags & ts.SymbolFlags.ValueModule && target.valueDeclaration) {
        const from = relative(dirname(file), target.valueDeclaration.getSourceFile().fileName);
        lines.push(`export * as ${exp.name} from './${from}';`);
      } else {
        if (exp.name !== target.name) lines.push(`// exported as ${exp.name}`);
        const seen = new Set();
        for (const decl of declarationsOf(target)) {
          const statement = statementOf(decl);
          if (seen.has(statement)) continue;
          seen.add(statement);
          lines.push(print(statement));
          referencedSymbols(statement, referenced);
        }
      }
      blocks.push(lines.join('\n'));
    }
    sections.push(
      `## \`${specifier}\``,
      '',
      `${exports.length} exports, from \`${relative(pkg.dir, file)}\`.`,
      '',
      ...fence(blocks.join('\n\n').split('\n')),
      '',
    );
  }

  // Declarations of this package that the API refers to without exporting them, and what
  // those refer to in turn.
  const unexported = new Map();
  const queue = [...referenced];
  while (queue.length > 0) {
    const symbol = queue.shift();
    if (exported.has(symbol) || unexported.has(symbol) || !inPackage(symbol)) continue;
    if (symbol.flags & (ts.SymbolFlags.TypeParameter | ts.SymbolFlags.ValueModule)) continue;
    // Only this package's own declarations: a global it augments (`declare global`) is
    // shown as its augmentation, not with the lib declarations it merges with.
    const own = declarationsOf(symbol).filter((d) =>
      d.getSourceFile().fileName.startsWith(distDir),
    );
    const statements = [...new Set(own.map(topLevelStatementOf))];
    unexported.set(symbol, statements);
    const more = new Set();
    for (const s of statements) referencedSymbols(s, more);
    queue.push(...more);
  }
  if (unexported.size > 0) {
    const blocks = [...unexported.entries()]
      .sort(([a], [b]) => compare(a.name, b.name))
      .map(([, statements]) => statements.map(print).join('\n'));
    sections.push(
      '## Referenced, not exported',
      '',
      'Declarations the API above refers to that no entry point exports.',
      '',
      ...fence(blocks.join('\n\n').split('\n')),
      '',
    );
  }

  return [
    `# ${pkg.json.name}`,
    '',
    '<!-- Written by `pnpm api:report` from the built declarations (dist/**/*.d.ts); do not edit. -->',
    '',
    'Every export of every entry point with its declaration, sorted by name, without doc comments.',
    '',
    ...sections,
  ].join('\n');
}

const reports = packages.map((pkg) => ({
  pkg,
  file: join(apiDir, `${pkg.dir.split('/').pop()}.api.md`),
  text: report(pkg),
}));

if (!check) {
  mkdirSync(apiDir, { recursive: true });
  for (const r of reports) writeFileSync(r.file, r.text);
  console.log(`api-report: wrote ${reports.map((r) => relative(root, r.file)).join(', ')}`);
  process.exit(0);
}

const problems = [];
for (const { pkg, file, text } of reports) {
  const name = relative(root, file);
  if (!existsSync(file)) {
    problems.push(`${pkg.json.name}: ${name} is missing.`);
    continue;
  }
  const committed = readFileSync(file, 'utf8').split('\n');
  const current = text.split('\n');
  const at = current.findIndex((line, i) => line !== committed[i]);
  const line = at === -1 && committed.length !== current.length ? current.length : at;
  if (line === -1) continue;
  problems.push(
    `${pkg.json.name}: its public API differs from ${name}, first at line ${line + 1}:\n` +
      `  committed: ${committed[line] ?? '(end of file)'}\n` +
      `  now:       ${current[line] ?? '(end of file)'}`,
  );
}
const expected = new Set(reports.map((r) => r.file));
for (const f of existsSync(apiDir) ? readdirSync(apiDir) : []) {
  if (f.endsWith('.api.md') && !expected.has(join(apiDir, f))) {
    problems.push(`api/${f} belongs to no public package; delete it.`);
  }
}
if (problems.length > 0) {
  console.error(`${problems.join('\n')}\nRun pnpm api:report and commit the api/ changes.`);
  process.exit(1);
}
console.log(`api-report: ${reports.length} reports match the built packages.`);
