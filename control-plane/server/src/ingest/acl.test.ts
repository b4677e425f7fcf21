import { agentSubscriptionFilters, MAX_PAYLOAD_BYTES } from '@sipwall/shared';
import { describe, expect, it } from 'vitest';
import { decidePublish, decideSubscribe } from './acl.js';

const agent = { kind: 'agent', agentId: 'ag-aaaaaaaaaaaa' } as const;
const own = 'sipwall/v1/agents/ag-aaaaaaaaaaaa';
const other = 'sipwall/v1/agents/ag-bbbbbbbbbbbb';
const pub = (topic: string, retain = false, payloadBytes = 10) =>
  decidePublish(agent, { topic, retain, payloadBytes });

describe('decidePublish (embedded broker ACL)', () => {
  it.each([
    [`${own}/reported`, true, 'ok'],
    [`${own}/status`, true, 'ok'],
    [`${own}/events`, false, 'ok'],
    [`${own}/reply`, false, 'ok'],
    [`${own}/desired`, false, 'kind-not-allowed'],
    [`${own}/desired`, true, 'kind-not-allowed'],
    [`${own}/ack`, false, 'kind-not-allowed'],
    [`${own}/rpc/reboot`, false, 'kind-not-allowed'],
    [`${own}/events`, true, 'retain-not-allowed'],
    [`${own}/reply`, true, 'retain-not-allowed'],
    [`${own}/unknown`, false, 'not-own-tree'],
    [`${other}/reported`, true, 'not-own-tree'],
    [`${other}/desired`, true, 'not-own-tree'],
    ['$SYS/broker', false, 'not-own-tree'],
  ] as const)('agent publishes %s (retain %s): %s', (topic, retain, verdict) => {
    expect(pub(topic, retain)).toBe(verdict);
  });

  it('refuses a payload above MAX_PAYLOAD_BYTES, accepts one at the limit', () => {
    expect(pub(`${own}/events`, false, MAX_PAYLOAD_BYTES)).toBe('ok');
    expect(pub(`${own}/events`, false, MAX_PAYLOAD_BYTES + 1)).toBe('payload-too-large');
  });

  it('the service principal may publish in the agents tree only (desired included)', () => {
    const svc = { kind: 'service' } as const;
    expect(decidePublish(svc, { topic: `${own}/desired`, retain: true, payloadBytes: 10 })).toBe('ok');
    expect(decidePublish(svc, { topic: 'elsewhere', retain: false, payloadBytes: 10 })).toBe('not-own-tree');
  });
});

describe('decideSubscribe (embedded broker ACL)', () => {
  it('the agent subscription list is desired, ack, rpc/+ of its own tree', () => {
    expect(agentSubscriptionFilters(agent.agentId)).toEqual([`${own}/desired`, `${own}/ack`, `${own}/rpc/+`]);
  });

  it.each([
    [`${own}/desired`, 'ok'],
    [`${own}/ack`, 'ok'],
    [`${own}/rpc/+`, 'ok'],
    [`${own}/rpc/sessions`, 'ok'],
    [`${own}/rpc/#`, 'filter-not-allowed'],
    [`${own}/#`, 'filter-not-allowed'],
    [`${own}/reported`, 'filter-not-allowed'],
    [`${own}/events`, 'filter-not-allowed'],
    [`${own}/+`, 'filter-not-allowed'],
    [`${other}/desired`, 'filter-not-allowed'],
    ['sipwall/v1/agents/#', 'filter-not-allowed'],
    ['sipwall/v1/agents/+/status', 'filter-not-allowed'],
    ['#', 'filter-not-allowed'],
    [`$share/g/${own}/desired`, 'filter-not-allowed'],
  ] as const)('agent subscribes %s: %s', (filter, verdict) => {
    expect(decideSubscribe(agent, filter)).toBe(verdict);
  });

  it('the service principal may subscribe to the agents tree only', () => {
    expect(decideSubscribe({ kind: 'service' }, 'sipwall/v1/agents/+/status')).toBe('ok');
    expect(decideSubscribe({ kind: 'service' }, '$share/cp/sipwall/v1/agents/+/events')).toBe('ok');
    expect(decideSubscribe({ kind: 'service' }, '#')).toBe('not-own-tree');
  });
});
