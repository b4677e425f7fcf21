/** Default port of a Via transport when sent-by has none (RFC 3261 §18.2.2, §19.1.2). */
export function defaultPort(viaTransport: string): number {
  const t = viaTransport.toUpperCase();
  return t === 'TLS' || t === 'WSS' ? 5061 : 5060;
}
