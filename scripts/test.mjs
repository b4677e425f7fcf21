#!/usr/bin/env node
// `npm test`: installs if needed, builds, then runs the whole vitest suite
//   1. on the embedded defaults (PGlite, aedes), and
//   2. again against real PostgreSQL and Mosquitto when they answer on 127.0.0.1:5432 / :1883
//      (required when SIPWALL_REQUIRE_REAL=1, as in CI),
// and prints one closing line `N passed, N failed, N skipped` summed over both runs from vitest's JSON reports,
// preceded by what failed: failed tests, and errors outside tests (a failed beforeAll/afterAll, a module that
// did not load, an unhandled error), which make vitest exit 1 without failing a test. The same text goes to
// .reports/summary.txt, which .ci/run prints again at its very end for each Node version.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
  const failuresFile = path.join(reportsDir, `${r.name}.failures.json`);
  const code = run(
    'npx',
    [
      'vitest',
      'run',
      '--reporter=default',
      '--reporter=json',
      `--reporter=${path.join(root, 'scripts', 'failures-reporter.mjs')}`,
      `--outputFile.json=${outputFile}`,
      ...extraArgs,
    ],
    { env: { ...r.env, SIPWALL_TEST_RUN: r.name, SIPWALL_FAILURES_FILE: failuresFile }, allowFail: true },
  );
  r.code = code;
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

const summary = [...runs.flatMap(whatFailed), `${passed} passed, ${failed} failed, ${skipped} skipped`].join(
  '\n',
);
writeFileSync(path.join(reportsDir, 'summary.txt'), `${summary}\n`);
console.log(`\n${summary}`);
if (failed > 0 || passed === 0 || exitCodes !== 0) process.exit(1);

/** Lines naming what failed in one run, from the failures reporter's file; none for a clean run. */
function whatFailed(r) {
  const file = path.join(reportsDir, `${r.name}.failures.json`);
  if (!existsSync(file))
    return r.code === 0 ? [] : [`${r.name}: vitest exited ${r.code} and left no failures report`];
  const f = JSON.parse(readFileSync(file, 'utf8'));
  const lines = [];
  const first = (errors) => (errors[0] ?? '(no error text)').split('\n').slice(0, 6).join('\n      ');
  for (const t of f.tests) lines.push(`${r.name}: FAILED ${t.module} > ${t.test}\n      ${first(t.errors)}`);
  for (const m of f.modules)
    lines.push(`${r.name}: ERROR in ${m.module} (outside its tests)\n      ${first(m.errors)}`);
  for (const e of f.unhandled) lines.push(`${r.name}: UNHANDLED ERROR\n      ${first([e])}`);
  if (lines.length === 0 && r.code !== 0)
    lines.push(`${r.name}: vitest exited ${r.code} (reason: ${f.reason}) with nothing failed`);
  return lines;
}

function redact(url) {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}
