import type { SipMessage, SipRequest } from './message.js';

export function setTopViaParams<M extends SipMessage>(
  _msg: M,
  _params: { readonly received?: string; readonly rport?: number },
): M {
  throw new Error('not implemented');
}
export function prependVia<M extends SipMessage>(_msg: M, _value: string): M {
  throw new Error('not implemented');
}
export function removeTopVia<M extends SipMessage>(_msg: M): M {
  throw new Error('not implemented');
}
export function prependHeader<M extends SipMessage>(_msg: M, _name: string, _value: string): M {
  throw new Error('not implemented');
}
export function appendHeader<M extends SipMessage>(_msg: M, _name: string, _value: string): M {
  throw new Error('not implemented');
}
export function setHeader<M extends SipMessage>(_msg: M, _name: string, _value: string): M {
  throw new Error('not implemented');
}
export function removeHeader<M extends SipMessage>(_msg: M, _name: string): M {
  throw new Error('not implemented');
}
export function removeFirstHeaderValue<M extends SipMessage>(_msg: M, _name: string): M {
  throw new Error('not implemented');
}
export function setRequestUri(_req: SipRequest, _uri: string): SipRequest {
  throw new Error('not implemented');
}
export function setBody<M extends SipMessage>(_msg: M, _body: Uint8Array, _contentType?: string): M {
  throw new Error('not implemented');
}
