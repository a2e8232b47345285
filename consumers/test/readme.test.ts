/** Every public package documents itself where its users look first: its README. */
import { describe, expect, it } from 'vitest';
import { publicPackages, repoRoot } from './packages.ts';
import { readmeExample, readmeText, section } from './readme.ts';

const rootReadme = readmeText(repoRoot) ?? '';

describe.each(publicPackages())('$manifest.name', ({ dir, path, manifest }) => {
  const text = readmeText(dir) ?? '';

  it('has a README with install, example, API and errors sections', () => {
    expect(text.startsWith(`# ${manifest.name}`)).toBe(true);
    for (const heading of ['Install', 'Example', 'API', 'Errors']) {
      expect(section(text, heading), `## ${heading}`).toBeTruthy();
    }
    expect(section(text, 'Install')).toContain(manifest.name);
  });

  it('has a TypeScript example that imports the package (compiled by the Node tests)', () => {
    const example = readmeExample(dir) ?? '';
    expect(example).toMatch(new RegExp(`from '${manifest.name}(/[a-z-]+)?'`));
  });

  it('is linked from the root README', () => {
    expect(rootReadme).toContain(`](${path}/README.md)`);
  });
});
