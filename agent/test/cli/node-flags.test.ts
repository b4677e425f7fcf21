import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { agentNodeFlags } from '../../bin/node-flags.js';

const BIN = fileURLToPath(new URL('../../bin/sipwall-agent.js', import.meta.url));

describe('agent node flags (the shebang of bin/sipwall-agent.js)', () => {
  it('are read from the shebang: the 64 MB young-generation semi-space', () => {
    expect(agentNodeFlags()).toEqual(['--max-semi-space-size=64']);
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

  it('the bin is executable, so systemd runs it with its shebang', () => {
    const r = spawnSync('test', ['-x', BIN]);
    expect(r.status).toBe(0);
  });
});
