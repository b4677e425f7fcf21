import { describe, expect, it } from 'vitest';
import { mayAccess } from './acl.js';

const agent = { kind: 'agent', agentId: 'ag-aaaaaaaaaaaa' } as const;

describe('mayAccess (embedded broker ACL)', () => {
  it.each([
    ['sipwall/v1/agents/ag-aaaaaaaaaaaa/status', true],
    ['sipwall/v1/agents/ag-aaaaaaaaaaaa/#', true],
    ['sipwall/v1/agents/ag-aaaaaaaaaaaa/rpc/+', true],
    ['sipwall/v1/agents/ag-aaaaaaaaaaaa/', false],
    ['sipwall/v1/agents/ag-aaaaaaaaaaaa', false],
    ['sipwall/v1/agents/ag-bbbbbbbbbbbb/status', false],
    ['sipwall/v1/agents/#', false],
    ['sipwall/v1/agents/+/status', false],
    ['#', false],
    ['+/v1/agents/ag-aaaaaaaaaaaa/status', false],
    ['$share/g/sipwall/v1/agents/ag-aaaaaaaaaaaa/events', false],
    ['$SYS/#', false],
  ])('agent → %s: %s', (topic, allowed) => {
    expect(mayAccess(agent, topic)).toBe(allowed);
  });

  it('the service principal may use the agents tree only', () => {
    expect(mayAccess({ kind: 'service' }, 'sipwall/v1/agents/+/status')).toBe(true);
    expect(mayAccess({ kind: 'service' }, '$share/cp/sipwall/v1/agents/+/events')).toBe(true);
    expect(mayAccess({ kind: 'service' }, '#')).toBe(false);
  });
});
