/** The value a JSON pointer (RFC 6901, as Ajv reports `instancePath`) names in a parsed document; undefined when absent. Own properties only, so '__proto__' or 'constructor' never reach Object's. */
export function valueAt(root: unknown, pointer: string): unknown {
  let node: unknown = root;
  for (const part of pointer.split('/').slice(1)) {
    if (node === null || typeof node !== 'object') return undefined;
    const key = part.replace(/~1/g, '/').replace(/~0/g, '~');
    if (!Object.prototype.hasOwnProperty.call(node, key)) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}
