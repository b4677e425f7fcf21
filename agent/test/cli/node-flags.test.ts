import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { agentNodeFlags, parseShebangFlags } from '../../bin/node-flags.js';

const BIN = fileURLToPath(new URL('../../bin/sipwall-agent.js', import.meta.url));

describe('agent node flags (the shebang of bin/sipwall-agent.js)', () => {
  it('are read from the shebang: the 64 MB young-generation semi-space', () => {
    expect(agentNodeFlags()).toEqual(['--max-semi-space-size=64', '--min-semi-space-size=8', '--expose-gc']);
  });

  it('are accepted by this node (a typo would stop the agent from starting)', () => {
    const r = spawnSync(
      process.execPath,
      [...agentNodeFlags(), '-e', 'process.stdout.write(String(process.execArgv.slice(0, -2)))'],
      {
        encoding: 'utf8',
      },
    );
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(agentNodeFlags().join(','));
  });

  it('parses several flags, and none', () => {
    expect(parseShebangFlags('#!/usr/bin/env -S node --a=1 --b-c')).toEqual(['--a=1', '--b-c']);
    expect(parseShebangFlags('#!/usr/bin/env -S node')).toEqual([]);
  });

  // Without `-S`, env would look for a program named "node --flag": the agent would not start.
  it.each(['#!/usr/bin/env node --max-semi-space-size=64', '#!/bin/sh', 'import x;', ''])(
    'refuses a line that is not an `env -S node` shebang, naming it: %j',
    (line) => {
      expect(() => parseShebangFlags(line)).toThrow(JSON.stringify(line));
    },
  );

  it('the bin is executable, so systemd runs it with its shebang', () => {
    const r = spawnSync('test', ['-x', BIN]);
    expect(r.status).toBe(0);
  });
});
