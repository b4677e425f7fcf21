import type { Param } from './message.js';
import { hasWspOrCtl, isToken, skipQuoted, splitTopLevel, trimWsp } from './scan.js';

/**
 * Parses `;a=b;c` (the text after the first `;`, RFC 3261 §25.1 generic-param).
 * LWS is allowed around `;` and `=`. Empty parameters (`;;`) are invalid (RFC 4475 §3.1.2.1).
 */
export function parseParams(text: string): Param[] | undefined {
  const parts = splitTopLevel(text, 0x3b);
  if (parts === undefined) return undefined;
  const params: Param[] = [];
  for (const part of parts) {
    const param = parseParam(part);
    if (param === undefined) return undefined;
    params.push(param);
  }
  return params;
}

function parseParam(part: string): Param | undefined {
  const eq = part.indexOf('=');
  if (eq < 0) return isToken(part) ? { name: part, value: undefined } : undefined;
  const name = trimWsp(part.slice(0, eq));
  const value = trimWsp(part.slice(eq + 1));
  if (!isToken(name) || value.length === 0) return undefined;
  if (value.charCodeAt(0) === 0x22) {
    if (skipQuoted(value, 0) !== value.length) return undefined;
  } else if (hasWspOrCtl(value) || /[",<>]/.test(value)) {
    return undefined;
  }
  return { name, value };
}

/** Value of the first parameter named `name` (case-insensitive); `''`-less flags give undefined. */
export function getParam(params: readonly Param[], name: string): string | undefined {
  return findParam(params, name)?.value;
}

/** The first parameter named `name` (case-insensitive). */
export function findParam(params: readonly Param[], name: string): Param | undefined {
  const lower = name.toLowerCase();
  for (const p of params) {
    if (p.name.length === lower.length && p.name.toLowerCase() === lower) return p;
  }
  return undefined;
}

export function formatParams(params: readonly Param[]): string {
  let s = '';
  for (const p of params) s += p.value === undefined ? `;${p.name}` : `;${p.name}=${p.value}`;
  return s;
}
