/**
 * The native binding `@sipwall/nftables-napi` against the real kernel, in a network namespace of
 * its own (the binding runs in a child process started with `ip netns exec`; this process, in the
 * root namespace, only loads it and makes no kernel call).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadNftables } from '@sipwall/nftables-napi';
import { nftSkipReason, REPO_ROOT } from './nftables-helpers.js';

const skip = nftSkipReason();

/** Runs `script` (an ES module body with `Nftables` in scope) in the namespace; returns its JSON output. */
function inNs(ns: string, script: string): unknown {
  const mod = `import { loadNftables } from '@sipwall/nftables-napi';
const { Nftables } = loadNftables();
const out = await (async () => { ${script} })();
process.stdout.write(JSON.stringify(out ?? null));`;
  const stdout = execFileSync(
    'ip',
    ['netns', 'exec', ns, process.execPath, '--input-type=module', '-e', mod],
    {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      timeout: 20_000,
    },
  );
  return JSON.parse(stdout);
}

describe('nftables-napi loader', () => {
  it('loads, or says why not, and never throws', () => {
    const r = loadNftables();
    if (r.ok) expect(typeof r.Nftables).toBe('function');
    else expect(r.reason).toMatch(/nftables-napi/);
  });
});

describe.skipIf(skip)(`nftables-napi in a network namespace${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const ns = `swnft${randomBytes(3).toString('hex')}-n`;

  beforeAll(() => {
    execFileSync('ip', ['netns', 'add', ns]);
    execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  });
  afterAll(() => {
    try {
      execFileSync('ip', ['netns', 'del', ns]);
    } catch {}
  });

  it('runs text and JSON batches and answers in JSON', () => {
    const r = inNs(
      ns,
      `const c = new Nftables();
       const text = c.run('add table inet napitest\\nadd set inet napitest s { type ipv4_addr; flags timeout; counter; }');
       const json = c.run(JSON.stringify({ nftables: [{ add: { element: { family: 'inet', table: 'napitest', name: 's',
         elem: [{ elem: { val: '10.0.0.1', timeout: 30, comment: 'x' } }] } } }] }));
       const listed = JSON.parse(c.run('list set inet napitest s'));
       c.close();
       return { text, json, listed };`,
    ) as { text: string; json: string; listed: { nftables: Array<Record<string, { elem?: unknown[] }>> } };
    expect(r.text).toBe('');
    expect(r.json).toBe('');
    const set = r.listed.nftables.find((o) => o['set'] !== undefined)?.['set'];
    expect(set?.elem).toEqual([
      {
        elem: {
          val: '10.0.0.1',
          timeout: 30,
          expires: expect.any(Number),
          comment: 'x',
          counter: { packets: 0, bytes: 0 },
        },
      },
    ]);
  });

  it("throws libnftables' error text, and a failed batch leaves nothing behind (one transaction)", () => {
    const r = inNs(
      ns,
      `const c = new Nftables();
       let message = '';
       try { c.run('add table inet napiatomic\\nadd chain inet nosuchtable c'); } catch (e) { message = e.message; }
       const tables = JSON.parse(c.run('list tables')).nftables.filter((o) => o.table).map((o) => o.table.name);
       c.close();
       let closed = '';
       try { c.run('list tables'); } catch (e) { closed = e.message; }
       return { message, tables, closed };`,
    ) as { message: string; tables: string[]; closed: string };
    expect(r.message).toMatch(/No such file or directory/);
    // (libnftables points at a command of the batch; which one is the kernel's guess.)
    expect(r.message).toMatch(/^Error: /);
    expect(r.tables).not.toContain('napiatomic');
    expect(r.closed).toMatch(/closed/);
  });

  it('setElements refuses bad ops before sending anything, naming the op and the reason; and a closed context', () => {
    const r = inNs(
      ns,
      `const c = new Nftables();
       const key = new Uint8Array([0, 0, 0, 1]);
       const tries = [
         'not an array',
         [{ del: false, set: 'media_pin', key }, 'not an object'],
         [{ del: 'no', set: 'media_pin', key }],
         [{ del: false, set: '', key }],
         [{ del: false, set: 'media_pin', key: 'text' }],
         [{ del: false, set: 'media_pin', key: new Uint8Array(65) }],
         [{ del: false, set: 'media_pin', key, timeoutMs: 0 }],
         [{ del: false, set: 'media_pin', key, comment: 'x'.repeat(253) }],
         [{ del: true, set: 'media_pin', key, comment: 'x' }],
       ];
       const out = [];
       for (const t of tries) {
         try { c.setElements(t); out.push('accepted'); } catch (e) { out.push(e.name + ': ' + e.message); }
       }
       c.close();
       try { c.setElements([{ del: false, set: 'media_pin', key }]); out.push('accepted'); } catch (e) { out.push(e.message); }
       return out;`,
    ) as string[];
    expect(r).toEqual([
      'TypeError: nftables-napi: setElements(ops: array)',
      'TypeError: nftables-napi: setElements: op 1: not an object',
      'TypeError: nftables-napi: setElements: op 0: del must be a boolean',
      'TypeError: nftables-napi: setElements: op 0: set must be a set name',
      'TypeError: nftables-napi: setElements: op 0: key must be a Uint8Array of 1-64 bytes',
      'TypeError: nftables-napi: setElements: op 0: key must be a Uint8Array of 1-64 bytes',
      'TypeError: nftables-napi: setElements: op 0: timeoutMs must be a positive number',
      'TypeError: nftables-napi: setElements: op 0: comment must be a string of 1-252 bytes',
      'TypeError: nftables-napi: setElements: op 0: a delete takes no timeoutMs or comment',
      'nftables-napi: context is closed',
    ]);
  });

  it('deletes a conntrack entry by its reply tuple, and says missing for one that does not exist', () => {
    const r = inNs(
      ns,
      `const dgram = await import('node:dgram');
       const c = new Nftables();
       // A ct expression in a ruleset turns conntrack on in this namespace.
       c.run('add table inet napict\\nadd chain inet napict out { type filter hook output priority 0; }\\nadd rule inet napict out ct state new counter');
       const rx = dgram.createSocket('udp4');
       await new Promise((res) => rx.bind(2222, '127.0.0.1', res));
       const tx = dgram.createSocket('udp4');
       await new Promise((res) => tx.bind(1111, '127.0.0.1', res));
       await new Promise((res) => tx.send('x', 2222, '127.0.0.1', res));
       await new Promise((res) => setTimeout(res, 50));
       const first = c.conntrackDelete([[4, '127.0.0.1', 2222, '127.0.0.1', 1111, 1], [4, '127.0.0.1', 9, '127.0.0.1', 9, 0]]);
       const again = c.conntrackDelete([[4, '127.0.0.1', 2222, '127.0.0.1', 1111, 1]]);
       let bad = '';
       try { c.conntrackDelete([[4, 'not-an-address', 1, '127.0.0.1', 2, 1]]); } catch (e) { bad = e.message; }
       rx.close(); tx.close(); c.close();
       return { first, again, bad };`,
    ) as { first: unknown; again: unknown; bad: string };
    expect(r.first).toEqual({ deleted: 1, missing: 1 });
    expect(r.again).toEqual({ deleted: 0, missing: 1 });
    expect(r.bad).toMatch(/tuple is/);
  });
});
