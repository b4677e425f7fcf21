import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { desiredFixture, fileConfigFixture } from '../../test/sync/fixtures.js';
import { ManualClock } from '../util/clock.js';
import { type AppliedConfig, createConfigStore } from './config-store.js';
import { createDesiredApplier } from './desired-applier.js';

let stateDir: string;
beforeEach(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'sipwall-applier-'));
});
afterEach(async () => {
  await rm(stateDir, { recursive: true, force: true });
});

function setup() {
  const fileConfig = fileConfigFixture();
  const store = createConfigStore({ config: fileConfig, appliedVersion: null, desired: null });
  const seen: AppliedConfig[] = [];
  store.onConfig((a) => seen.push(a));
  const applier = createDesiredApplier({
    fileConfig,
    store,
    stateDir,
    agentVersion: '0.1.0',
    clock: new ManualClock(Date.UTC(2025, 0, 1)),
    logger: pino({ level: 'silent' }),
  });
  return { store, seen, applier };
}

it('applies, persists, notifies once per version and reports; duplicates report without re-applying', async () => {
  const { store, seen, applier } = setup();
  const v1 = JSON.stringify(desiredFixture(1));
  expect(await applier.handle(v1)).toMatchObject({ appliedVersion: 1, status: 'applied', errors: [] });
  expect(store.current().config.sip.domains).toEqual(['managed.test']);
  expect(JSON.parse(await readFile(join(stateDir, 'desired.json'), 'utf8'))).toMatchObject({ version: 1 });
  expect(await applier.handle(v1)).toMatchObject({ appliedVersion: 1, status: 'applied' });
  expect(seen).toHaveLength(1);
  expect(applier.stats).toEqual({ applied: 1, rejected: 0 });
});

it('keeps the last good config on a rejection and ignores older versions', async () => {
  const { store, applier } = setup();
  await applier.handle(JSON.stringify(desiredFixture(2)));
  const bad = await applier.handle(JSON.stringify({ ...desiredFixture(3), users: 'nope' }));
  expect(bad).toMatchObject({ status: 'rejected', appliedVersion: 2, rejectedVersion: 3 });
  expect(bad?.errors.map((e) => e.path)).toContain('users');
  expect(store.current().appliedVersion).toBe(2);
  expect(await applier.handle(JSON.stringify(desiredFixture(1)))).toBeNull();
  expect(applier.currentReport()).toMatchObject({ status: 'rejected', appliedVersion: 2 });
});
