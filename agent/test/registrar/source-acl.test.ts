import { describe, expect, it } from 'vitest';
import {
  checkRegisterSource,
  compileCidrs,
  EMPTY_CIDR_SET,
  parseCidr,
  parseIp,
} from '../../src/registrar/source-acl.js';
import { cidrs } from './register-fixtures.js';

const contains = (list: string[], address: string) => {
  const ip = parseIp(address);
  if (ip === undefined) return 'unparsable';
  return (
    checkRegisterSource(address, { allow: cidrs(list), deny: EMPTY_CIDR_SET }, EMPTY_CIDR_SET) === 'allowed'
  );
};

describe('parseIp', () => {
  it.each([
    ['10.0.0.1', 4],
    ['::1', 6],
    ['2001:db8::1', 6],
    ['[2001:db8::1]', 6],
    ['fe80::1%eth0', 6],
    ['::ffff:192.0.2.1', 4],
    ['1:2:3:4:5:6:7:8', 6],
    ['::', 6],
    ['64:ff9b::192.0.2.33', 6],
  ])('%s is IPv%s', (a, family) => {
    expect(parseIp(a)?.family).toBe(family);
  });
  it.each([
    '',
    '256.0.0.1',
    '1.2.3',
    '01.2.3.4',
    '1:2:3:4:5:6:7:8:9',
    '1::2::3',
    'gggg::',
    'example.com',
    '1.2.3.4/8',
    ':::',
  ])('refuses %j', (a) => {
    expect(parseIp(a)).toBeUndefined();
  });
});

describe('CIDR matching', () => {
  it.each([
    [['10.0.0.0/8'], '10.255.255.255', true],
    [['10.0.0.0/8'], '11.0.0.0', false],
    [['192.168.1.0/24'], '192.168.1.77', true],
    [['192.168.1.0/24'], '192.168.2.1', false],
    [['192.168.1.10/32'], '192.168.1.10', true],
    [['192.168.1.10/32'], '192.168.1.11', false],
    [['0.0.0.0/0'], '203.0.113.5', true],
    [['0.0.0.0/0'], '2001:db8::1', false],
    [['10.1.2.3/8'], '10.9.9.9', true], // host bits in the network are masked
    [['2001:db8::/32'], '2001:db8:ffff::1', true],
    [['2001:db8::/32'], '2001:db9::1', false],
    [['2001:db8:0:1::/64'], '2001:db8:0:1:abcd::1', true],
    [['2001:db8::/127'], '2001:db8::1', true],
    [['2001:db8::/127'], '2001:db8::2', false],
    [['::/0'], '2001:db8::1', true],
    [['::/0'], '10.0.0.1', false],
    [['10.0.0.0/8'], '::ffff:10.1.2.3', true], // dual-stack socket view of an IPv4 peer
    [['fe80::/10'], 'fe80::1%eth0', true],
    [['2001:db8::/33'], '2001:db8:8000::1', false],
    [['2001:db8::/33'], '2001:db8:7fff::1', true],
  ])('%j contains %s → %s', (list, address, expected) => {
    expect(contains(list, address)).toBe(expected);
  });

  it('reports a bad CIDR', () => {
    expect(compileCidrs(['10.0.0.0/33'])).toEqual({
      ok: false,
      error: { code: 'bad-cidr', cidr: '10.0.0.0/33' },
    });
    expect(parseCidr('2001:db8::/129')).toBeUndefined();
    expect(parseCidr('10.0.0.0/x')).toBeUndefined();
  });
});

describe('checkRegisterSource', () => {
  const policy = { allow: cidrs(['10.0.0.0/8', '2001:db8::/32']), deny: cidrs(['10.66.0.0/16']) };
  it('allows sources in the site allow list and not denied', () => {
    expect(checkRegisterSource('10.1.1.1', policy, EMPTY_CIDR_SET)).toBe('allowed');
    expect(checkRegisterSource('2001:db8::5', policy, EMPTY_CIDR_SET)).toBe('allowed');
  });
  it('deny wins over allow', () => {
    expect(checkRegisterSource('10.66.1.1', policy, EMPTY_CIDR_SET)).toBe('denied');
  });
  it('denies sources outside a non-empty allow list', () => {
    expect(checkRegisterSource('192.0.2.1', policy, EMPTY_CIDR_SET)).toBe('denied');
  });
  it("also requires the user's allowFrom when set", () => {
    expect(checkRegisterSource('10.1.1.1', policy, cidrs(['10.1.0.0/16']))).toBe('allowed');
    expect(checkRegisterSource('10.2.1.1', policy, cidrs(['10.1.0.0/16']))).toBe('denied');
  });
  it('allows anyone when every list is empty, and denies an unparsable address', () => {
    const open = { allow: EMPTY_CIDR_SET, deny: EMPTY_CIDR_SET };
    expect(checkRegisterSource('203.0.113.1', open, EMPTY_CIDR_SET)).toBe('allowed');
    expect(checkRegisterSource('not-an-ip', open, EMPTY_CIDR_SET)).toBe('denied');
  });
});
