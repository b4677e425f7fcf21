/**
 * Test tones as WAV files (PCM, 16-bit, mono) and a judge of what a recording holds: the
 * Goertzel power of one frequency against the recording's total power, per window.
 */
import { readFileSync, writeFileSync } from 'node:fs';

/** Writes `seconds` of a sine at `hz` (amplitude ~ −6 dBFS) at `rate` samples/s. */
export function writeToneWav(path: string, hz: number, seconds: number, rate = 8000): void {
  const n = Math.round(seconds * rate);
  const data = Buffer.alloc(n * 2);
  for (let i = 0; i < n; i++)
    data.writeInt16LE(Math.round(16_000 * Math.sin((2 * Math.PI * hz * i) / rate)), i * 2);
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'latin1');
  header.writeUInt32LE(36 + data.length, 4);
  header.write('WAVEfmt ', 8, 'latin1');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(1, 22); // mono
  header.writeUInt32LE(rate, 24);
  header.writeUInt32LE(rate * 2, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36, 'latin1');
  header.writeUInt32LE(data.length, 40);
  writeFileSync(path, Buffer.concat([header, data]));
}

export interface Wav {
  readonly rate: number;
  readonly channels: number;
  /** Samples of the first channel, −1 … 1. */
  readonly samples: Float64Array;
}

/** Reads a 16-bit PCM WAV (the chunks before `data` skipped, whatever they are). */
export function readWav(path: string): Wav {
  const b = readFileSync(path);
  if (b.toString('latin1', 0, 4) !== 'RIFF' || b.toString('latin1', 8, 12) !== 'WAVE')
    throw new Error(`${path}: not a WAV file`);
  let off = 12;
  let rate = 0;
  let channels = 1;
  let bits = 16;
  while (off + 8 <= b.length) {
    const id = b.toString('latin1', off, off + 4);
    const size = b.readUInt32LE(off + 4);
    if (id === 'fmt ') {
      channels = b.readUInt16LE(off + 10);
      rate = b.readUInt32LE(off + 12);
      bits = b.readUInt16LE(off + 22);
    } else if (id === 'data') {
      if (bits !== 16) throw new Error(`${path}: ${bits}-bit samples, 16 expected`);
      const end = Math.min(b.length, off + 8 + (size === 0xffffffff || size === 0 ? b.length : size));
      const count = Math.floor((end - off - 8) / (2 * channels));
      const samples = new Float64Array(count);
      for (let i = 0; i < count; i++) samples[i] = b.readInt16LE(off + 8 + i * 2 * channels) / 32768;
      return { rate, channels, samples };
    }
    off += 8 + size + (size % 2);
  }
  throw new Error(`${path}: no data chunk`);
}

/** Fraction (0 … 1) of the signal's power at `hz` (Goertzel), over the given samples. */
export function toneShare(samples: Float64Array, rate: number, hz: number): number {
  if (samples.length === 0) return 0;
  const k = (2 * Math.PI * hz) / rate;
  const coeff = 2 * Math.cos(k);
  let s1 = 0;
  let s2 = 0;
  let energy = 0;
  for (const x of samples) {
    const s0 = x + coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
    energy += x * x;
  }
  if (energy === 0) return 0;
  const power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
  // A pure tone of N samples gives power ≈ N² A²/4 and energy ≈ N A²/2: share = 2·power/(N·energy).
  return (2 * power) / (samples.length * energy);
}

/** Seconds of the recording in which `hz` dominates (share ≥ `min`), in windows of 0.25 s. */
export function secondsOfTone(wav: Wav, hz: number, min = 0.5): number {
  const win = Math.round(wav.rate / 4);
  let windows = 0;
  for (let at = 0; at + win <= wav.samples.length; at += win) {
    if (toneShare(wav.samples.subarray(at, at + win), wav.rate, hz) >= min) windows++;
  }
  return windows / 4;
}
