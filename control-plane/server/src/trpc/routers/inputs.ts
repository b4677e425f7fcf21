import { isValidAgentId } from '@sipwall/shared';
import { z } from 'zod';

/** Display names: trimmed, non-empty, bounded. */
export const NameSchema = z.string().trim().min(1).max(200);

export const AgentIdSchema = z.string().refine(isValidAgentId, 'not a valid agent id');
