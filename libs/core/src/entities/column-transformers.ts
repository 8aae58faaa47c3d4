import type { ValueTransformer } from 'typeorm';

/** pg returns int8 as a string (it may exceed 2^53); our seeds are uint32, so a number is exact. */
export const bigintToNumber: ValueTransformer = {
  to: (value: number | null | undefined) => value,
  from: (value: string | null) => (value === null ? null : Number(value)),
};
