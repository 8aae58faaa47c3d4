import { MAX_TERM_CHARS, MODEL_VERSION_KINDS, MODERATION_STATUSES, PLATFORMS } from '@vca/core';
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

/** Whose block list: a platform's workspace (Discord server id, Slack team id); the web chat's by default. */
const scopeFields = {
  platform: z.enum(PLATFORMS).default('web'),
  workspaceId: z.string().trim().min(1).max(200).default('local'),
};
const term = z.string().trim().min(1, 'write a term').max(MAX_TERM_CHARS);

export const BlockTermSchema = z.object({ ...scopeFields, term, reason: z.string().trim().max(500).optional() });
export type BlockTermBody = z.infer<typeof BlockTermSchema>;

export const UnblockTermQuerySchema = z.object({ ...scopeFields, term });
export type UnblockTermQuery = z.infer<typeof UnblockTermQuerySchema>;

/** Without both fields: the terms of every workspace. */
export const BlockedTermsQuerySchema = z.object({ platform: z.enum(PLATFORMS).optional(), workspaceId: z.string().trim().min(1).max(200).optional() });
export type BlockedTermsQuery = z.infer<typeof BlockedTermsQuerySchema>;

export const TrainingRunsQuerySchema = z.object({ limit: z.coerce.number().int().min(1).max(200).default(20) });
export type TrainingRunsQuery = z.infer<typeof TrainingRunsQuerySchema>;

export const RequestTrainingRunSchema = z.object({ requireApproval: z.boolean().default(false) });
export type RequestTrainingRunBody = z.infer<typeof RequestTrainingRunSchema>;

/** `global` (or empty) = versions without a community; absent = every community. */
const communityField = z
  .string()
  .trim()
  .max(200)
  .transform((c) => (c === '' || c === 'global' ? null : c));

export const ModelVersionsQuerySchema = z.object({ kind: z.enum(MODEL_VERSION_KINDS).optional(), communityId: communityField.optional() });
export type ModelVersionsQuery = z.infer<typeof ModelVersionsQuerySchema>;

export const RollbackSchema = z.object({
  kind: z.enum(MODEL_VERSION_KINDS).default('reward'),
  /** `discord:<guild>`, `slack:<team>`, `web:local`; null/absent/`global` = the global versions. */
  communityId: communityField.nullable().optional(),
  /** Roll back to this version (of that kind and community) instead of the previous one. */
  toVersionId: z.string().uuid().optional(),
});
export type RollbackBody = z.infer<typeof RollbackSchema>;

export const RaterIdParamSchema = z.string().regex(/^[0-9a-f]{64}$/, 'expected a rater id');
export const ApproveOrRejectSchema = z.enum(['approve', 'reject']);
