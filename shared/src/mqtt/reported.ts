import { z } from 'zod';

/** `reported` (agent → CP, retained): what the agent runs now. */
export const ReportedStateSchema = z
  .object({
    /** Last desired version applied successfully; null while running on the local file only. */
    appliedVersion: z.number().int().min(1).nullable(),
    /**
     * `reverted`: the agent applied `rejectedVersion`, could not reach the control plane within
     * its `revertAfterSec`, and returned to `appliedVersion` by itself.
     */
    status: z.enum(['applied', 'rejected', 'reverted', 'standalone']),
    /** For `rejected`: why the most recent desired version was not applied (the last good one keeps running). */
    rejectedVersion: z.number().int().min(1).optional(),
    errors: z.array(z.object({ path: z.string(), message: z.string() }).strict()).default([]),
    agentVersion: z.string().min(1).max(64),
    reportedAt: z.iso.datetime(),
  })
  .strict();
export type ReportedState = z.infer<typeof ReportedStateSchema>;
