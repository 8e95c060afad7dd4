// The architecture list has one source on each side of the bridge: the native table
// (native/core/models/architectures.cc), which builds and recognises networks, and
// lib/config/archs.ts, which types, schemas and CLI choices derive from. They must agree.
import { info } from '../../lib';
import { ARCHS } from '../../lib/config/archs';
import { trainConfigSchema } from '../../lib/config/train-config';

test('the TypeScript list equals the native architecture table', async () => {
  expect([...ARCHS]).toEqual((await info()).architectures);
});

test('the configuration schema accepts exactly the listed architectures', () => {
  const properties = trainConfigSchema.properties as Record<string, { enum?: unknown[] }>;
  expect(properties.arch.enum).toEqual([...ARCHS]);
});
