/** "just now", "12 s ago", "5 min ago", "3 h ago", else a local date-time. */
export function formatAgo(value: string | Date | null | undefined, now: number = Date.now()): string {
  if (value === null || value === undefined) return 'never';
  const at = typeof value === 'string' ? Date.parse(value) : value.getTime();
  if (Number.isNaN(at)) return 'unknown';
  const seconds = Math.round((now - at) / 1000);
  if (seconds < 5) return 'just now';
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)} h ago`;
  return new Date(at).toLocaleString();
}

export function formatDateTime(value: string | Date | null | undefined): string {
  if (value === null || value === undefined) return '';
  const at = typeof value === 'string' ? new Date(value) : value;
  return Number.isNaN(at.getTime()) ? '' : at.toISOString();
}

/** `v3`, or an em dash when there is no version. */
export function formatVersion(version: number | null | undefined): string {
  return version === null || version === undefined ? '—' : `v${version}`;
}

/** `0.873` → `87 %`; null → em dash. */
export function formatPercent(ratio: number | null | undefined): string {
  return ratio === null || ratio === undefined ? '—' : `${Math.round(ratio * 100)} %`;
}

/** Seconds as `m:ss` or `h:mm:ss`. */
export function formatDuration(totalSeconds: number): string {
  const s = Math.max(0, Math.floor(totalSeconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

/** `12 345` with a thin space, for counters. */
export function formatCount(n: number | null | undefined): string {
  return n === null || n === undefined ? '—' : n.toLocaleString('en-US').replace(/,/g, '\u2009');
}
