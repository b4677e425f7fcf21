import { isTRPCClientError } from '@trpc/client';

interface FieldIssue {
  path: string;
  message: string;
}

function fieldIssues(data: unknown): FieldIssue[] | null {
  if (typeof data !== 'object' || data === null || !('issues' in data)) return null;
  const issues = data.issues;
  if (!Array.isArray(issues) || issues.length === 0) return null;
  return issues.filter(
    (i): i is FieldIssue => typeof i === 'object' && i !== null && 'path' in i && 'message' in i,
  );
}

/**
 * A message fit to show the operator: the server's own message, or for invalid input the
 * server's field issues (`data.issues`, one `path: message` line each).
 */
export function errorMessage(error: unknown): string {
  if (!isTRPCClientError(error)) return error instanceof Error ? error.message : String(error);
  const issues = fieldIssues(error.data);
  if (issues && issues.length > 0) return issues.map((i) => `${i.path}: ${i.message}`).join('\n');
  if (error.message === 'Failed to fetch') return 'The control plane is not reachable (network error).';
  return error.message || 'Request failed';
}
