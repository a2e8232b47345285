/** A package README's example: the first ```ts block under its "## Example" heading. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export function readmeText(dir: string): string | undefined {
  const path = join(dir, 'README.md');
  return existsSync(path) ? readFileSync(path, 'utf8') : undefined;
}

/** `## Heading` → the text up to the next `## ` heading. */
export function section(markdown: string, heading: string): string | undefined {
  const lines = markdown.split('\n');
  const start = lines.findIndex((l) => l.trim() === `## ${heading}`);
  if (start < 0) return undefined;
  const end = lines.findIndex((l, i) => i > start && l.startsWith('## '));
  return lines.slice(start + 1, end < 0 ? undefined : end).join('\n');
}

export function readmeExample(dir: string): string | undefined {
  const text = readmeText(dir);
  const example = text && section(text, 'Example');
  return example?.match(/```ts\n([\s\S]*?)\n```/)?.[1];
}
