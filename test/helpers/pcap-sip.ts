/**
 * SIP messages out of a pcap written by `lab.capture` (tcpdump -w on a veth: Ethernet frames,
 * IPv4): each UDP datagram is one message; each TCP direction is reassembled by sequence number
 * (retransmissions counted once) and split by Content-Length. For assertions on exactly what
 * crossed an interface, header by header.
 */
import { readFileSync } from 'node:fs';

export interface WireSipMessage {
  readonly protocol: 'udp' | 'tcp';
  readonly src: string;
  readonly dst: string;
  /** Start line and header fields as sent (CRLF-separated, no blank line). */
  readonly head: string;
  readonly body: string;
}

const LINKTYPE_ETHERNET = 1;

interface Segment {
  readonly seq: number;
  readonly data: Buffer;
}

/** Every SIP message in `file`, in capture order (TCP messages per stream, after its datagrams). */
export function sipMessagesFromPcap(file: string): WireSipMessage[] {
  const buf = readFileSync(file);
  if (buf.length < 24) return [];
  const magic = buf.readUInt32LE(0);
  const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  if (!le && buf.readUInt32BE(0) !== 0xa1b2c3d4 && buf.readUInt32BE(0) !== 0xa1b23c4d) {
    throw new Error(`${file}: not a pcap file`);
  }
  const u32 = (o: number) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const linktype = u32(20) & 0xffff;
  if (linktype !== LINKTYPE_ETHERNET) throw new Error(`${file}: link type ${linktype}, expected Ethernet`);
  const out: WireSipMessage[] = [];
  const streams = new Map<string, { src: string; dst: string; segments: Segment[] }>();
  for (let off = 24; off + 16 <= buf.length; ) {
    const incl = u32(off + 8);
    const frame = buf.subarray(off + 16, off + 16 + incl);
    off += 16 + incl;
    if (frame.length < 34 || frame.readUInt16BE(12) !== 0x0800) continue;
    const ip = frame.subarray(14);
    const ihl = (ip[0]! & 0x0f) * 4;
    const total = Math.min(ip.readUInt16BE(2), ip.length);
    const proto = ip[9];
    const srcIp = ip.subarray(12, 16).join('.');
    const dstIp = ip.subarray(16, 20).join('.');
    const l4 = ip.subarray(ihl, total);
    if (proto === 17 && l4.length >= 8) {
      const src = `${srcIp}:${l4.readUInt16BE(0)}`;
      const dst = `${dstIp}:${l4.readUInt16BE(2)}`;
      for (const m of splitMessages(l4.subarray(8).toString('latin1'))) {
        out.push({ protocol: 'udp', src, dst, ...m });
      }
    } else if (proto === 6 && l4.length >= 20) {
      const src = `${srcIp}:${l4.readUInt16BE(0)}`;
      const dst = `${dstIp}:${l4.readUInt16BE(2)}`;
      const data = l4.subarray((l4[12]! >> 4) * 4);
      if (data.length === 0) continue;
      const key = `${src}>${dst}`;
      let s = streams.get(key);
      if (s === undefined) {
        s = { src, dst, segments: [] };
        streams.set(key, s);
      }
      s.segments.push({ seq: l4.readUInt32BE(4), data });
    }
  }
  for (const s of streams.values()) {
    for (const m of splitMessages(reassemble(s.segments)))
      out.push({ protocol: 'tcp', src: s.src, dst: s.dst, ...m });
  }
  return out;
}

/** Orders segments by sequence (relative to the first, mod 2^32) and drops bytes already seen. */
function reassemble(segments: readonly Segment[]): string {
  const base = segments[0]!.seq;
  const rel = segments
    .map((s) => ({ at: (s.seq - base + 2 ** 32) % 2 ** 32, data: s.data }))
    .sort((a, b) => a.at - b.at);
  const parts: Buffer[] = [];
  let next = 0;
  for (const s of rel) {
    const end = s.at + s.data.length;
    if (end <= next) continue;
    parts.push(s.data.subarray(Math.max(0, next - s.at)));
    next = end;
  }
  return Buffer.concat(parts).toString('latin1');
}

/** Splits a stream (or a datagram) into SIP messages; CRLF keep-alives are skipped. */
function splitMessages(text: string): { head: string; body: string }[] {
  const out: { head: string; body: string }[] = [];
  let rest = text;
  for (let i = 0; i < 10_000; i++) {
    rest = rest.replace(/^(?:\r\n)+/, '');
    if (rest.length === 0) break;
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) {
      out.push({ head: rest, body: '' });
      break;
    }
    const head = rest.slice(0, end);
    const cl = /^(?:content-length|l)[ \t]*:[ \t]*(\d+)/im.exec(head);
    const len = cl === undefined || cl === null ? rest.length - end - 4 : Number(cl[1]);
    out.push({ head, body: rest.slice(end + 4, end + 4 + len) });
    rest = rest.slice(end + 4 + len);
  }
  return out;
}
