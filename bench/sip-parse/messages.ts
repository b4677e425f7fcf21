/** Realistic messages for the parser benchmark (CRLF exact). */

const sdp = [
  'v=0',
  'o=alice 2890844526 2890844527 IN IP4 198.51.100.10',
  's=Talk',
  'c=IN IP4 198.51.100.10',
  't=0 0',
  'a=group:BUNDLE audio',
  'm=audio 49170 RTP/AVP 0 8 9 18 101',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:8 PCMA/8000',
  'a=rtpmap:9 G722/8000',
  'a=rtpmap:18 G729/8000',
  'a=fmtp:18 annexb=no',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-16',
  'a=ptime:20',
  'a=sendrecv',
  '',
].join('\r\n');

function message(lines: string[], body = ''): Buffer {
  const withLength = [...lines, `Content-Length: ${Buffer.byteLength(body, 'latin1')}`];
  return Buffer.from(`${withLength.join('\r\n')}\r\n\r\n${body}`, 'latin1');
}

export const invite = message(
  [
    'INVITE sip:bob@biloxi.example.com;transport=udp SIP/2.0',
    'Via: SIP/2.0/UDP proxy2.biloxi.example.com:5060;branch=z9hG4bK721e418c4.1;received=203.0.113.7;rport=5060',
    'Via: SIP/2.0/TCP proxy1.atlanta.example.com:5060;branch=z9hG4bK2d4790.1',
    'Via: SIP/2.0/UDP 198.51.100.10:5060;branch=z9hG4bKnashds8;rport=5060;received=192.0.2.44',
    'Max-Forwards: 68',
    'Record-Route: <sip:proxy2.biloxi.example.com;lr>, <sip:proxy1.atlanta.example.com;lr;transport=tcp>',
    'From: "Alice Liddell" <sip:alice@atlanta.example.com>;tag=9fxced76sl',
    'To: "Bob" <sip:bob@biloxi.example.com>',
    'Call-ID: 3848276298220188511@atlanta.example.com',
    'CSeq: 314159 INVITE',
    'Contact: "Alice" <sip:alice@198.51.100.10:5060;transport=udp;ob>;+sip.instance="<urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6>";expires=3600',
    'Allow: INVITE, ACK, CANCEL, OPTIONS, BYE, REFER, NOTIFY, MESSAGE, UPDATE, PRACK',
    'Supported: replaces, timer, 100rel',
    'Session-Expires: 1800;refresher=uac',
    'User-Agent: Acme SoftPhone 4.2.1',
    'Content-Type: application/sdp',
  ],
  sdp,
);

export const register = message([
  'REGISTER sip:registrar.biloxi.example.com SIP/2.0',
  'Via: SIP/2.0/UDP 192.0.2.101:5060;branch=z9hG4bKnashds7;rport',
  'Max-Forwards: 70',
  'From: Bob <sip:bob@biloxi.example.com>;tag=a73kszlfl',
  'To: Bob <sip:bob@biloxi.example.com>',
  'Call-ID: 1j9FpLxk3uxtm8tn@192.0.2.101',
  'CSeq: 2 REGISTER',
  'Contact: <sip:bob@192.0.2.101:5060;transport=udp>;expires=3600',
  'Authorization: Digest username="bob", realm="biloxi.example.com", nonce="ea9c8e88df84f1cec4341ae6cbe5a359", opaque="", uri="sip:registrar.biloxi.example.com", response="dfe56131d1958046689d83306477ecc", algorithm=MD5, qop=auth, nc=00000001, cnonce="0a4f113b"',
  'Expires: 3600',
  'User-Agent: Acme SoftPhone 4.2.1',
]);

export const ok200 = message([
  'SIP/2.0 200 OK',
  'Via: SIP/2.0/UDP proxy2.biloxi.example.com:5060;branch=z9hG4bK721e418c4.1;received=203.0.113.7',
  'Via: SIP/2.0/UDP 198.51.100.10:5060;branch=z9hG4bKnashds8;rport=5060;received=192.0.2.44',
  'Record-Route: <sip:proxy2.biloxi.example.com;lr>',
  'From: "Alice Liddell" <sip:alice@atlanta.example.com>;tag=9fxced76sl',
  'To: "Bob" <sip:bob@biloxi.example.com>;tag=314159',
  'Call-ID: 3848276298220188511@atlanta.example.com',
  'CSeq: 314159 INVITE',
  'Contact: <sip:bob@192.0.2.4:5060>',
  'Server: Acme PBX 9',
]);
