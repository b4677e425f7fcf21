import { describe, expect, it } from 'vitest';
import { OutboxGauge } from './outbox-gauge.js';

describe('OutboxGauge', () => {
  it('keeps the latest report per agent, sums them and forgets stale ones', () => {
    const g = new OutboxGauge(1000);
    g.record('ag-aaaaaaaaaaaa', { depth: 10, dropped: 0 }, 0);
    g.record('ag-aaaaaaaaaaaa', { depth: 4, dropped: 1 }, 100);
    g.record('ag-bbbbbbbbbbbb', { depth: 7, dropped: 2 }, 500);
    expect(g.totals(600)).toEqual({ agentsReporting: 2, depth: 11, maxDepth: 7, dropped: 3 });
    expect(g.totals(1200)).toEqual({ agentsReporting: 1, depth: 7, maxDepth: 7, dropped: 2 });
    expect(g.totals(5000)).toEqual({ agentsReporting: 0, depth: 0, maxDepth: 0, dropped: 0 });
  });
});
