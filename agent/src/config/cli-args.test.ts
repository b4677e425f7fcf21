import { expect, it } from 'vitest';
import { parseCliArgs } from './cli-args.js';

it('parses run, check-config, help and version', () => {
  expect(parseCliArgs(['--config', 'a.yaml'])).toEqual({
    ok: true,
    value: { kind: 'run', configFile: 'a.yaml', overrides: {} },
  });
  expect(parseCliArgs(['-c', 'a.yaml', '--check-config', '--sip-port', '0', '--admin-port', '8080'])).toEqual(
    {
      ok: true,
      value: { kind: 'check-config', configFile: 'a.yaml', overrides: { sipPort: 0, adminPort: 8080 } },
    },
  );
  expect(parseCliArgs(['--help']).ok && parseCliArgs(['--help'])).toMatchObject({ value: { kind: 'help' } });
  expect(parseCliArgs(['--version'])).toMatchObject({ ok: true, value: { kind: 'version' } });
});

it.each([
  [['--config', 'a', '--sip-port', 'abc'], '--sip-port'],
  [['--config', 'a', '--sip-port', '65536'], '--sip-port'],
  [['--config', 'a', '--admin-port', '-1'], '--admin-port'],
  [['--config', 'a', '--admin-port', '1.5'], '--admin-port'],
  [['--bogus'], 'bogus'],
  [[], '--config'],
  [['--config', 'a', 'extra'], 'extra'],
])('rejects %j', (argv, mention) => {
  const r = parseCliArgs(argv);
  expect(r.ok).toBe(false);
  expect(!r.ok && r.error).toContain(mention);
});
