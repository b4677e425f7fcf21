import { z } from 'zod';

export const PortSchema = z.number().int().min(1).max(65535);
export const PortOrZeroSchema = z.number().int().min(0).max(65535);

/** IPv4 or IPv6 literal (no brackets). */
export const IpAddressSchema = z.union([z.ipv4(), z.ipv6()], { error: 'must be an IPv4 or IPv6 address' });

/** CIDR network, IPv4 or IPv6 (`10.0.0.0/8`, `2001:db8::/32`). */
export const CidrSchema = z.union([z.cidrv4(), z.cidrv6()], {
  error: 'must be a CIDR network such as 10.0.0.0/8',
});

/** DNS domain served by the agent (SIP domain / digest realm). */
export const DomainSchema = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i, 'not a valid domain name');

/** SIP user part: RFC 3261 user = 1*( unreserved / escaped / user-unreserved ). Kept conservative. */
export const SipUsernameSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9\-_.!~*'()&=+$,;?/]+$/, 'must contain only SIP user characters');

const hex = (len: number) =>
  z.string().regex(new RegExp(`^[0-9a-f]{${len}}$`), `must be ${len} lowercase hex digits`);
export const Ha1Md5Schema = hex(32);
export const Ha1Sha256Schema = hex(64);
