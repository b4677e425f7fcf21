import { describe, expect, it } from 'vitest';
import { configState } from '../../src/domain/config-state.js';
import { canaryVerdict } from '../../src/domain/rollouts.js';

const facts = (o: Partial<Parameters<typeof configState>[0]>) => ({
  desiredVersion: 3,
  appliedVersion: null,
  reportedStatus: null,
  rejectedVersion: null,
  ...o,
});

describe('configState', () => {
  it.each([
    [{ desiredVersion: null }, 'unmanaged'],
    [{}, 'pending'],
    [{ appliedVersion: 2, reportedStatus: 'applied' }, 'pending'],
    [{ appliedVersion: 3, reportedStatus: 'applied' }, 'applied'],
    [{ appliedVersion: 2, reportedStatus: 'rejected', rejectedVersion: 3 }, 'rejected'],
    [{ appliedVersion: 2, reportedStatus: 'rejected', rejectedVersion: 2 }, 'pending'],
    [{ appliedVersion: 2, reportedStatus: 'reverted', rejectedVersion: 3 }, 'reverted'],
    [{ appliedVersion: 3, reportedStatus: 'standalone' }, 'pending'],
  ] as const)('%o → %s', (o, want) => {
    expect(configState(facts(o))).toBe(want);
  });
});

describe('canaryVerdict', () => {
  const target = { agentId: 'ag-aaaaaaaaaaaa', version: 5 };
  const agent = (o: Partial<NonNullable<Parameters<typeof canaryVerdict>[1]>>) => ({
    online: true,
    appliedVersion: 4,
    reportedStatus: 'applied',
    rejectedVersion: null,
    errors: [],
    ...o,
  });

  it('waits until the version is applied and the agent is online', () => {
    expect(canaryVerdict(target, agent({}))).toEqual({ kind: 'waiting' });
    expect(canaryVerdict(target, agent({ appliedVersion: 5, online: false }))).toEqual({ kind: 'waiting' });
    expect(canaryVerdict(target, agent({ appliedVersion: 5 }))).toEqual({ kind: 'done' });
    expect(canaryVerdict(target, agent({ appliedVersion: 6 }))).toEqual({ kind: 'done' });
  });

  it('fails on a rejection or revert of that version, or a deleted agent, with the reason', () => {
    const rejected = canaryVerdict(
      target,
      agent({
        reportedStatus: 'rejected',
        rejectedVersion: 5,
        errors: [{ path: 'users.0', message: 'bad' }],
      }),
    );
    expect(rejected).toEqual({
      kind: 'failed',
      reason: `canary agent ${target.agentId} rejected version 5 (users.0: bad)`,
    });
    expect(canaryVerdict(target, agent({ reportedStatus: 'reverted', rejectedVersion: 5 })).kind).toBe(
      'failed',
    );
    expect(canaryVerdict(target, agent({ reportedStatus: 'rejected', rejectedVersion: 4 })).kind).toBe(
      'waiting',
    );
    expect(canaryVerdict(target, null).kind).toBe('failed');
  });
});
