/**
 * The acme example of the README, read from the README itself, so the tests
 * that build it (test/package.test.ts from the packed library,
 * test/cluster/acme.test.ts on the control plane) and the doc cannot drift.
 */
const MARKER = '<!-- acme example: test/package.test.ts reads the next block -->';

/** The TypeScript block that follows the marker in a README's text. */
export function acmeExample(readme: string): string {
  const at = readme.indexOf(MARKER);
  const block = /^```ts\n([\s\S]*?)^```$/m.exec(readme.slice(at + MARKER.length));
  if (at < 0 || block === null) throw new Error(`the README has no \`\`\`ts block after "${MARKER}"`);
  return block[1];
}
