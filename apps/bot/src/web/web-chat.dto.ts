import { FEEDBACK_SIGNALS } from '@vca/core';
import { z } from 'zod';

/** The web chat's pseudonymous user id (a random id the page keeps in localStorage). */
export const WebUserIdSchema = z
  .string({ message: 'missing x-vca-user header' })
  .regex(/^[A-Za-z0-9_-]{8,64}$/, 'x-vca-user must be 8-64 letters, digits, _ or -');

export const StartThreadSchema = z.object({
  prompt: z.string().trim().min(1, 'write a prompt first').max(2000, 'the prompt is longer than 2000 characters'),
});
export type StartThreadBody = z.infer<typeof StartThreadSchema>;

export const PostMessageSchema = z.object({
  text: z.string().trim().min(1, 'write some feedback first').max(2000, 'the message is longer than 2000 characters'),
});
export type PostMessageBody = z.infer<typeof PostMessageSchema>;

export const RateSchema = z.object({
  signal: z.enum(FEEDBACK_SIGNALS),
  /** Client-generated id of this click: a retried request is a no-op (duplicate event). */
  eventId: z.string().regex(/^[A-Za-z0-9_-]{8,100}$/, 'eventId must be 8-100 letters, digits, _ or -'),
});
export type RateBody = z.infer<typeof RateSchema>;

/** Reroll / vary click; `requestId` is generated once per click, so a retried request adds no round. */
export const RoundRequestSchema = z.object({
  requestId: z.string().regex(/^[A-Za-z0-9_-]{8,100}$/, 'requestId must be 8-100 letters, digits, _ or -'),
});
export type RoundRequestBody = z.infer<typeof RoundRequestSchema>;

export const SignalParamSchema = z.enum(FEEDBACK_SIGNALS);
export const UuidParamSchema = z.string().uuid('expected a uuid');
