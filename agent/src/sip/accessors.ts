import type { Result } from '@sipwall/shared';
import type { ContactList, NameAddr, Param, SipMessage, Via } from './message.js';

/** A lazily parsed header failed its grammar. */
export interface HeaderParseError {
  readonly code: 'bad-header';
  /** Canonical header name. */
  readonly header: string;
  readonly reason: string;
}

export function topVia(_msg: SipMessage): Via | undefined {
  throw new Error('not implemented');
}
export function getHeader(_msg: SipMessage, _name: string): string | undefined {
  throw new Error('not implemented');
}
export function getHeaders(_msg: SipMessage, _name: string): readonly string[] {
  throw new Error('not implemented');
}
export function getContacts(_msg: SipMessage): Result<ContactList, HeaderParseError> {
  throw new Error('not implemented');
}
export function getRoutes(_msg: SipMessage): Result<readonly NameAddr[], HeaderParseError> {
  throw new Error('not implemented');
}
export function getRecordRoutes(_msg: SipMessage): Result<readonly NameAddr[], HeaderParseError> {
  throw new Error('not implemented');
}
export function getExpires(_msg: SipMessage): Result<number | undefined, HeaderParseError> {
  throw new Error('not implemented');
}
export function getParam(_params: readonly Param[], _name: string): string | undefined {
  throw new Error('not implemented');
}
