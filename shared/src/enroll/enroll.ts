import { z } from 'zod';

/** `POST /api/enroll`: an agent trades its one-time token for MQTT credentials. */
export const EnrollRequestSchema = z
  .object({
    token: z.string().min(16).max(256),
    agentVersion: z.string().min(1).max(64),
    hostname: z.string().max(255).optional(),
  })
  .strict();
export type EnrollRequest = z.infer<typeof EnrollRequestSchema>;

export const EnrollResponseSchema = z
  .object({
    agentId: z.string().min(1),
    mqtt: z
      .object({
        url: z.string().min(1),
        clientId: z.string().min(1),
        username: z.string().min(1),
        password: z.string().min(16),
      })
      .strict(),
    topicPrefix: z.string().min(1),
  })
  .strict();
export type EnrollResponse = z.infer<typeof EnrollResponseSchema>;

export const EnrollErrorSchema = z
  .object({
    error: z.enum(['invalid-request', 'invalid-token', 'token-used', 'token-expired']),
    message: z.string(),
  })
  .strict();
export type EnrollError = z.infer<typeof EnrollErrorSchema>;
