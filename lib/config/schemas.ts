/** JSON Schemas of the options the foundation's public functions take. */
import type { Schema } from './validate';

/** A device: auto (CUDA if available), cpu, cuda, or cuda:N. */
export const deviceSchema: Schema = {
  type: 'string',
  pattern: '^(auto|cpu|cuda(:[0-9]+)?)$',
};

export const dtypeSchema: Schema = {
  type: 'string',
  enum: ['float32', 'float64', 'int64', 'int32', 'uint8', 'bool'],
};

/** tensor(data, shape, options) */
export const tensorOptionsSchema: Schema = {
  type: 'object',
  properties: { dtype: dtypeSchema },
  additionalProperties: false,
};

export const shapeSchema: Schema = {
  type: 'array',
  items: { type: 'integer', minimum: 0 },
};
