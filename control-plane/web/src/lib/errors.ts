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

/** `sipDomains` → `SIP domains`, `logLevel` → `Log level`. */
function words(key: string): string {
  const spaced = key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/[_-]+/g, ' ')
    .toLowerCase()
    .replace(/\bsip\b/g, 'SIP')
    .replace(/\bip\b/g, 'IP')
    .replace(/\brtp\b/g, 'RTP');
  return spaced.charAt(0).toUpperCase() + spaced.slice(1);
}

/**
 * A field path in words: `config.domains.2` → `Domains, item 3`. A leading `config`/`policies`
 * wrapper is left out (the form already says which it is).
 */
export function fieldLabel(path: string): string {
  const parts = path.split('.').filter((p) => p !== '');
  if (parts.length > 1 && (parts[0] === 'config' || parts[0] === 'policies' || parts[0] === 'change'))
    parts.shift();
  const out: string[] = [];
  for (const part of parts) {
    if (/^\d+$/.test(part)) out.push(`item ${Number(part) + 1}`);
    else out.push(out.length === 0 ? words(part) : words(part).toLowerCase());
  }
  return out.join(', ');
}

/**
 * A message fit to show the operator: the server's own message, or for invalid input one line
 * per field issue (`Domains, item 3: …`), never a raw library path.
 */
export function errorMessage(error: unknown): string {
  if (!isTRPCClientError(error)) return error instanceof Error ? error.message : String(error);
  const issues = fieldIssues(error.data);
  if (issues && issues.length > 0)
    return issues.map((i) => (i.path ? `${fieldLabel(i.path)}: ${i.message}` : i.message)).join('\n');
  if (error.message === 'Failed to fetch') return 'The control plane is not reachable (network error).';
  return error.message || 'Request failed';
}
