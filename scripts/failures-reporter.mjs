// A vitest reporter that writes what went wrong in a run to a JSON file (the path in
// SIPWALL_FAILURES_FILE): failed tests, modules and suites whose own errors (collection, beforeAll/
// afterAll) failed them, and unhandled errors. vitest's JSON report counts none of the last two, yet
// either one makes `vitest run` exit 1 with every test passed; `npm test` prints this file's
// contents at the end so such a run says what failed instead of only its exit code.
import { writeFileSync } from 'node:fs';

const MAX_MESSAGE = 2000;

export default class FailuresReporter {
  onTestRunEnd(testModules, unhandledErrors, reason) {
    const file = process.env.SIPWALL_FAILURES_FILE;
    if (!file) return;
    const failures = { reason, tests: [], modules: [], unhandled: [] };
    for (const mod of testModules) {
      const where = `${mod.project.name}: ${mod.relativeModuleId}`;
      const ownErrors = mod.errors();
      if (ownErrors.length > 0) failures.modules.push({ module: where, errors: ownErrors.map(describe) });
      for (const suite of mod.children.allSuites()) {
        const errors = suite.errors();
        if (errors.length > 0)
          failures.modules.push({ module: `${where} > ${suite.fullName}`, errors: errors.map(describe) });
      }
      for (const test of mod.children.allTests('failed')) {
        failures.tests.push({
          module: where,
          test: test.fullName,
          errors: (test.result().errors ?? []).map(describe),
        });
      }
    }
    failures.unhandled = unhandledErrors.map(describe);
    writeFileSync(file, JSON.stringify(failures, null, 2));
  }
}

function describe(error) {
  const text = error?.stack || error?.message || String(error);
  return text.length > MAX_MESSAGE ? `${text.slice(0, MAX_MESSAGE)}…` : text;
}
