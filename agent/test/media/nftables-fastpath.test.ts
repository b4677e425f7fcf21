/**
 * The addon's netlink fast path (`setElements`) against libnftables in a network namespace of the
 * test's own: every set and map of the driver's ruleset holds exactly the same element (key, data,
 * timeout, comment, counter) whichever way it was added, a delete either way finds the element the
 * other added, and a failed batch applies nothing. The work runs in nftables-fastpath-runner.ts,
 * started with `ip netns exec`; nothing is added to the root namespace.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nftSkipReason, REPO_ROOT } from './nftables-helpers.js';

const skip = nftSkipReason();

interface Parity {
  set: string;
  key: string;
  text: unknown;
  fast: unknown;
  fastDeletedText: string | true;
  textDeletedFast: string | true;
  left: unknown;
}

interface Outcome {
  parity: Parity[];
  refreshed: unknown;
  failure?: { message: string; errno: unknown; op: unknown };
  afterFailure: unknown;
  removeAbsent: string | true;
  removePresent: string | true;
  afterRemove: unknown;
}

describe.skipIf(skip)(
  `nftables-napi setElements (netlink fast path)${skip ? ` (skipped: ${skip})` : ''}`,
  () => {
    const ns = `swnft${randomBytes(3).toString('hex')}-p`;
    let out: Outcome;

    beforeAll(() => {
      execFileSync('ip', ['netns', 'add', ns]);
      execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
      const stdout = execFileSync(
        'ip',
        [
          'netns',
          'exec',
          ns,
          process.execPath,
          '--conditions=@sipwall/source',
          '--import',
          'tsx',
          join(REPO_ROOT, 'agent/test/media/nftables-fastpath-runner.ts'),
        ],
        { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000 },
      );
      out = JSON.parse(stdout) as Outcome;
    }, 90_000);
    afterAll(() => {
      try {
        execFileSync('ip', ['netns', 'del', ns]);
      } catch {}
    });

    it('adds exactly the element nft adds, in every set and map (IPv4 and IPv6), and deletes it either way', () => {
      expect(new Set(out.parity.map((p) => p.set)).size).toBe(16);
      for (const p of out.parity) {
        const where = `${p.set} { ${p.key} }`;
        expect(p.text, where).not.toHaveProperty('count');
        expect(p.fast, where).toEqual(p.text);
        expect(p.fastDeletedText, where).toBe(true);
        expect(p.textDeletedFast, where).toBe(true);
        expect(p.left, where).toEqual({ count: 0, elems: [] });
      }
    });

    it('gives elements of a `counter` set their counter, and keeps the comment nft writes', () => {
      const fwd = out.parity.filter((p) => p.set === 'media_fwd4' || p.set === 'media_pin');
      expect(fwd.length).toBeGreaterThan(0);
      for (const p of fwd) {
        expect(p.fast).toMatchObject({
          elem: { counter: { packets: 0, bytes: 0 }, comment: expect.any(String) },
        });
      }
      const pin = out.parity.find((p) => p.set === 'media_pin' && p.key !== '1');
      expect(pin?.fast).toMatchObject({ elem: { comment: expect.stringMatching(/^#/) } });
    });

    it('refreshes an existing element (new timeout, same element)', () => {
      expect(out.refreshed).toMatchObject({ elem: { val: 5, timeout: 60, comment: 'refresh', counter: {} } });
    });

    it('applies nothing of a failed batch and names the errno and the op', () => {
      expect(out.failure).toEqual({
        message: expect.stringMatching(
          /op 1 \(delete element inet sipwall media_pin\): No such file or directory/,
        ),
        errno: 2,
        op: 1,
      });
      expect(out.afterFailure).toEqual({ count: 0, elems: [] });
    });

    it('removes an element whether it is there or not (add then delete in one batch)', () => {
      expect(out.removeAbsent).toBe(true);
      expect(out.removePresent).toBe(true);
      expect(out.afterRemove).toEqual({ count: 0, elems: [] });
    });
  },
);
