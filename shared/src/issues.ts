import type { z } from 'zod';

/** One problem in an input, named by its dotted path (e.g. `sip.interfaces.0.port`). */
export interface FieldIssue {
  path: string;
  message: string;
}

/** Flattens zod issues into `path: reason` pairs a person can act on. */
export function toFieldIssues(error: z.ZodError): FieldIssue[] {
  return error.issues.map((issue) => ({
    path: issue.path.length === 0 ? '(root)' : issue.path.map(String).join('.'),
    message: issue.message,
  }));
}

export function formatFieldIssues(issues: readonly FieldIssue[]): string {
  return issues.map((i) => `${i.path}: ${i.message}`).join('\n');
}
