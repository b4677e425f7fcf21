import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { desiredFixture, fileConfigFixture } from '../../test/sync/fixtures.js';
import { ManualClock } from '../util/clock.js';
import { type AppliedConfig, createConfigStore } from './config-store.js';
import { createDesiredApplier } from './desired-applier.js';
import {
  DESIRED_FILE,
  DESIRED_PREV_FILE,
  type RevertRecord,
  readPersistedDesired,
  readRevertRecord,
} from './desired-store.js';
import { restoreAppliedConfig, restoreRevertTarget } from './restore-desired.js';

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
  expect(applier.stats).toEqual({ applied: 1, rejected: 0, reverted: 0 });
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

describe('auto-revert (revertAfterSec)', () => {
  function setupWithClock(reverted: RevertRecord | null = null) {
    const fileConfig = fileConfigFixture();
    const store = createConfigStore({ config: fileConfig, appliedVersion: null, desired: null });
    const clock = new ManualClock(Date.UTC(2025, 0, 1));
    const applier = createDesiredApplier({
      fileConfig,
      store,
      stateDir,
      agentVersion: '0.1.0',
      clock,
      logger: pino({ level: 'silent' }),
      reverted,
    });
    return { store, clock, applier, fileConfig };
  }
  const push = (v: number, extra: object = {}) => JSON.stringify({ ...desiredFixture(v), ...extra });
  const onDisk = async (file: string) => readPersistedDesired(stateDir, file);

  it('keeps a version whose report was delivered in time', async () => {
    const { store, clock, applier } = setupWithClock();
    const report = await applier.handle(push(1, { revertAfterSec: 10 }));
    clock.advance(9_000);
    applier.reportDelivered(report!);
    clock.advance(60_000);
    await applier.idle();
    expect(store.current().appliedVersion).toBe(1);
    expect(applier.stats.reverted).toBe(0);
  });

  it('returns to the previous version when no report is delivered within revertAfterSec', async () => {
    const { store, clock, applier } = setupWithClock();
    applier.reportDelivered((await applier.handle(push(1)))!);
    const v1Config = store.current().config;
    await applier.handle(push(2, { revertAfterSec: 30, config: { domains: ['two.test'] } }));
    expect(await onDisk(DESIRED_PREV_FILE)).toMatchObject({ kind: 'ok', desired: { version: 1 } });
    clock.advance(29_999);
    await applier.idle();
    expect(store.current().appliedVersion).toBe(2);
    clock.advance(1);
    await applier.idle();
    expect(store.current().appliedVersion).toBe(1);
    expect(store.current().config).toBe(v1Config);
    expect(await onDisk(DESIRED_FILE)).toMatchObject({ kind: 'ok', desired: { version: 1 } });
    expect(await onDisk(DESIRED_PREV_FILE)).toEqual({ kind: 'none' });
    const report = applier.currentReport();
    expect(report).toMatchObject({ status: 'reverted', appliedVersion: 1, rejectedVersion: 2 });
    expect(report.errors[0]?.message).toMatch(/within 30 s; returned to version 1/);
    expect(await readRevertRecord(stateDir)).toMatchObject({ version: 2 });
    // The retained version 2 redelivered on reconnect is not applied again; version 3 is.
    expect(await applier.handle(push(2))).toMatchObject({ status: 'reverted', rejectedVersion: 2 });
    expect(store.current().appliedVersion).toBe(1);
    expect(await applier.handle(push(3))).toMatchObject({ status: 'applied', appliedVersion: 3 });
    expect(await readRevertRecord(stateDir)).toBeNull();
  });

  it('with no previous version, reverts to the file config (the default is 120 s)', async () => {
    const { store, clock, applier, fileConfig } = setupWithClock();
    await applier.handle(push(1));
    clock.advance(119_999);
    await applier.idle();
    expect(store.current().appliedVersion).toBe(1);
    clock.advance(1);
    await applier.idle();
    expect(store.current()).toEqual({ config: fileConfig, appliedVersion: null, desired: null });
    expect(await onDisk(DESIRED_FILE)).toEqual({ kind: 'none' });
    expect(applier.currentReport()).toMatchObject({
      status: 'reverted',
      appliedVersion: null,
      rejectedVersion: 1,
    });
  });

  it('revertAfterSec 0 never reverts; a report of another version does not confirm', async () => {
    const { store, clock, applier } = setupWithClock();
    await applier.handle(push(1, { revertAfterSec: 0 }));
    clock.advance(86_400_000);
    await applier.idle();
    expect(store.current().appliedVersion).toBe(1);
    await applier.handle(push(2, { revertAfterSec: 5 }));
    applier.reportDelivered({ ...applier.currentReport(), appliedVersion: 1 });
    clock.advance(5_000);
    await applier.idle();
    expect(store.current().appliedVersion).toBe(1);
  });

  it('a revert persisted by an earlier run is reported again and its version not re-applied', async () => {
    const { applier, store } = setupWithClock({
      version: 4,
      errors: [{ path: 'revertAfterSec', message: 'x' }],
    });
    expect(applier.currentReport()).toMatchObject({ status: 'reverted', rejectedVersion: 4 });
    expect(await applier.handle(push(4))).toMatchObject({ status: 'reverted' });
    expect(store.current().appliedVersion).toBeNull();
  });

  it('an unconfirmed version survives a restart: the new run still reverts it; a confirmed one does not', async () => {
    const first = setupWithClock();
    first.applier.reportDelivered((await first.applier.handle(push(1)))!);
    await first.applier.handle(push(2, { revertAfterSec: 30 }));
    first.applier.stop(); // the agent stops before version 2 was ever reported

    const logger = pino({ level: 'silent' });
    const restored = await restoreAppliedConfig(first.fileConfig, stateDir, logger);
    expect(restored.appliedVersion).toBe(2);
    const revertTo = await restoreRevertTarget(first.fileConfig, stateDir, restored, logger);
    expect(revertTo?.appliedVersion).toBe(1);
    const store = createConfigStore(restored);
    const clock = new ManualClock(Date.UTC(2025, 0, 2));
    const second = createDesiredApplier({
      fileConfig: first.fileConfig,
      store,
      stateDir,
      agentVersion: '0.1.0',
      clock,
      logger,
      unconfirmedRevertTo: revertTo,
    });
    clock.advance(30_000);
    await second.idle();
    expect(store.current().appliedVersion).toBe(1);
    expect(second.currentReport()).toMatchObject({
      status: 'reverted',
      rejectedVersion: 2,
      appliedVersion: 1,
    });

    // Version 3 confirmed: after a restart there is nothing to revert.
    second.reportDelivered((await second.handle(push(3, { revertAfterSec: 30 })))!);
    await second.idle();
    const again = await restoreAppliedConfig(first.fileConfig, stateDir, logger);
    expect(again.appliedVersion).toBe(3);
    expect(await restoreRevertTarget(first.fileConfig, stateDir, again, logger)).toBeNull();
  });
});
