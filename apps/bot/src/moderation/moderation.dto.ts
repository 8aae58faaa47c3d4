import { MODERATION_STATUSES } from '@vca/core';
import { z } from 'zod';

export const ListLabelsQuerySchema = z.object({
  status: z.enum(MODERATION_STATUSES).optional(),
  raterId: z.string().regex(/^[0-9a-f]{64}$/, 'expected a rater id').optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  offset: z.coerce.number().int().min(0).default(0),
  includeRevoked: z.enum(['true', 'false']).default('true').transform((v) => v === 'true'),
});
export type ListLabelsQuery = z.infer<typeof ListLabelsQuerySchema>;

export const ReasonSchema = z.object({ reason: z.string().trim().max(500).optional() });
export type ReasonBody = z.infer<typeof ReasonSchema>;

export const BanSchema = z.object({ reason: z.string().trim().min(1, 'say why the rater is banned').max(500) });
export type BanBody = z.infer<typeof BanSchema>;

export const PageQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  offset: z.coerce.number().int().min(0).default(0),
});
export type PageQuery = z.infer<typeof PageQuerySchema>;

export const RaterIdParamSchema = z.string().regex(/^[0-9a-f]{64}$/, 'expected a rater id');
export const ApproveOrRejectSchema = z.enum(['approve', 'reject']);
