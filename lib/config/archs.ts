/**
 * The ResNet architectures the package builds — the TypeScript side of the native table in
 * native/core/models/architectures.cc (test/unit/archs.test.ts checks that the two agree).
 * Types, schemas and CLI choices are all derived from this list.
 */
export const ARCHS = ['resnet18', 'resnet34', 'resnet50', 'resnet101', 'resnet152'] as const;

export type Arch = (typeof ARCHS)[number];

/** "resnet18 | resnet34 | resnet50" for help texts. */
export const archChoicesText = ARCHS.join(' | ');
