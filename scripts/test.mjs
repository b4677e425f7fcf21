#!/usr/bin/env node
// `npm test`: installs if needed, builds, then runs the whole vitest suite
//   1. on the embedded defaults (PGlite, aedes), and
//   2. again against real PostgreSQL and Mosquitto when they answer on 127.0.0.1:5432 / :1883
//      (required when SIPWALL_REQUIRE_REAL=1, as in CI),
// and prints one closing line `N passed, N failed, N skipped` summed over both runs from vitest's JSON reports.
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { buildAll, canConnect, ensureInstalled, root, run, step } from './lib.mjs';

const extraArgs = process.argv.slice(2);
const reportsDir = path.join(root, '.reports');
rmSync(reportsDir, { recursive: true, force: true });
mkdirSync(reportsDir, { recursive: true });

ensureInstalled();
buildAll();

const realDatabaseUrl = process.env.SIPWALL_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const realMqttUrl = process.env.SIPWALL_TEST_MQTT_URL ?? 'mqtt://127.0.0.1:1883';
const requireReal = process.env.SIPWALL_REQUIRE_REAL === '1';

const runs = [{ name: 'embedded', env: { DATABASE_URL: '', MQTT_URL: '' } }];
const pgUp = await canConnect(new URL(realDatabaseUrl).port || 5432, new URL(realDatabaseUrl).hostname);
const mqttUp = await canConnect(new URL(realMqttUrl).port || 1883, new URL(realMqttUrl).hostname);
if (pgUp && mqttUp) {
  runs.push({ name: 'real-services', env: { DATABASE_URL: realDatabaseUrl, MQTT_URL: realMqttUrl } });
} else if (requireReal) {
  console.error(
    `real services required but not reachable: postgres ${pgUp ? 'up' : 'down'}, mosquitto ${mqttUp ? 'up' : 'down'}`,
  );
  process.exit(1);
} else {
  step(
    `skipping the real-services run: postgres ${pgUp ? 'up' : 'down'}, mosquitto ${mqttUp ? 'up' : 'down'} on 127.0.0.1`,
  );
}

let exitCodes = 0;
for (const r of runs) {
  step(
    `vitest run (${r.name}${r.env.DATABASE_URL ? `: ${redact(r.env.DATABASE_URL)}, ${redact(r.env.MQTT_URL)}` : ''})`,
  );
  const outputFile = path.join(reportsDir, `${r.name}.json`);
  const code = run(
    'npx',
    [
      'vitest',
      'run',
      '--reporter=default',
      '--reporter=json',
      `--outputFile.json=${outputFile}`,
      ...extraArgs,
    ],
    { env: { ...r.env, SIPWALL_TEST_RUN: r.name }, allowFail: true },
  );
  exitCodes |= code;
}

let passed = 0;
let failed = 0;
let skipped = 0;
for (const r of runs) {
  const file = path.join(reportsDir, `${r.name}.json`);
  let report;
  try {
    report = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    console.error(`no JSON report from the ${r.name} run (${file}); counting it as failed`);
    failed += 1;
    continue;
  }
  passed += report.numPassedTests ?? 0;
  failed += report.numFailedTests ?? 0;
  skipped += (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
  // A suite that failed to load has no tests counted; make it visible.
  const brokenSuites = (report.testResults ?? []).filter(
    (s) => s.status === 'failed' && s.assertionResults?.length === 0,
  );
  failed += brokenSuites.length;
  for (const s of brokenSuites)
    console.error(`suite failed to run (${r.name}): ${path.relative(root, s.name)}`);
}

console.log(`\n${passed} passed, ${failed} failed, ${skipped} skipped`);
if (failed > 0 || passed === 0 || exitCodes !== 0) process.exit(1);

function redact(url) {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}
