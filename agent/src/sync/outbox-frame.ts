/**
 * Framing of the outbox's segment files (pure): each record is `length (u32 BE) · crc32 (u32 BE) ·
 * payload`. A crash mid-write leaves a torn tail — a short header, a short payload or a checksum
 * that does not match — which `scanFrames` detects; everything before it is intact.
 */

const HEADER_BYTES = 8;
/** A frame longer than this is corruption, not a record (records are a few hundred bytes). */
export const MAX_FRAME_PAYLOAD = 1024 * 1024;

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (IEEE 802.3, as zlib and PNG). */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export function encodeFrame(payload: Buffer): Buffer {
  if (payload.length > MAX_FRAME_PAYLOAD) throw new RangeError(`frame payload of ${payload.length} bytes`);
  const frame = Buffer.allocUnsafe(HEADER_BYTES + payload.length);
  frame.writeUInt32BE(payload.length, 0);
  frame.writeUInt32BE(crc32(payload), 4);
  payload.copy(frame, HEADER_BYTES);
  return frame;
}

export interface ScanResult {
  /** The intact frames' payloads, in file order. */
  readonly payloads: Buffer[];
  /** Bytes of the file covered by intact frames. */
  readonly validBytes: number;
  /** Why scanning stopped before the end of the file, if it did. */
  readonly torn: 'short-header' | 'short-payload' | 'bad-length' | 'bad-crc' | undefined;
}

/** Reads frames from a segment's bytes up to the first torn or corrupt one. */
export function scanFrames(buf: Buffer): ScanResult {
  const payloads: Buffer[] = [];
  let at = 0;
  let torn: ScanResult['torn'];
  while (at < buf.length) {
    if (buf.length - at < HEADER_BYTES) {
      torn = 'short-header';
      break;
    }
    const len = buf.readUInt32BE(at);
    if (len > MAX_FRAME_PAYLOAD) {
      torn = 'bad-length';
      break;
    }
    if (buf.length - at - HEADER_BYTES < len) {
      torn = 'short-payload';
      break;
    }
    const payload = buf.subarray(at + HEADER_BYTES, at + HEADER_BYTES + len);
    if (crc32(payload) !== buf.readUInt32BE(at + 4)) {
      torn = 'bad-crc';
      break;
    }
    payloads.push(payload);
    at += HEADER_BYTES + len;
  }
  return { payloads, validBytes: at, torn };
}

export const FRAME_OVERHEAD = HEADER_BYTES;
