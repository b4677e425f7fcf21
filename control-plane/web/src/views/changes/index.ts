/**
 * STUB created by the shell engineer — the changes engineer replaces this file with the real
 * components (same names and props). Each stub renders a small "not built yet" note.
 */
import { createElement } from 'react';
import type { Role } from '../../lib/roles.js';

function notBuilt(what: string) {
  return createElement('p', { className: 'not-built' }, `${what}: not built yet`);
}

export function SipUsersPanel(_props: { organizationId: string; siteId: string; role: Role }) {
  return notBuilt('SIP users');
}

export function SipUserDetail(_props: {
  organizationId: string;
  siteId: string;
  userId: string;
  role: Role;
}) {
  return notBuilt('SIP user');
}

export function PolicyEditor(_props: { organizationId: string; siteId?: string; role: Role }) {
  return notBuilt('Policy editor');
}

export function PushPanel(_props: { organizationId: string; role: Role }) {
  return notBuilt('Push and rollouts');
}

export function SiteActions(_props: { organizationId: string; siteId: string; role: Role }) {
  return notBuilt('Site actions');
}

export function AgentActions(_props: { organizationId: string; agentId: string; role: Role }) {
  return notBuilt('Agent actions');
}

export function AuditLogView(_props: { organizationId: string }) {
  return notBuilt('Audit log');
}

export function MembersView(_props: { organizationId: string; role: Role }) {
  return notBuilt('Members');
}
