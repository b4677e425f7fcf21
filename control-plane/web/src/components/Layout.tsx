import { useMutation, useQueryClient } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import { Link, useLocation } from 'wouter';
import {
  accountPath,
  auditPath,
  changesPath,
  homePath,
  orgPath,
  settingsPath,
  statsPath,
} from '../lib/route-links.js';
import { roleAtLeast } from '../lib/roles.js';
import { useOrg } from '../lib/use-org.js';
import { type Operator, useTRPC } from '../trpc.js';
import { ErrorMessage } from './ErrorMessage.js';

interface LayoutProps {
  operator: Operator;
  children: ReactNode;
}

/** The organization the current URL is about, if any. */
function orgIdOf(location: string): string | undefined {
  const match = /^\/orgs\/([^/?#]+)/.exec(location);
  return match?.[1] ? decodeURIComponent(match[1]) : undefined;
}

/** Page chrome: brand, organization switcher, the organization's sections, the operator and sign-out. */
export function Layout({ operator, children }: LayoutProps) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [location, navigate] = useLocation();
  const orgId = orgIdOf(location);
  const { organizations, role } = useOrg(orgId);
  const signOut = useMutation(
    trpc.auth.signOut.mutationOptions({
      onSuccess: () => {
        // The sign-in form at once; App then forgets every other query (no more requests).
        navigate(homePath(), { replace: true });
        queryClient.setQueryData(trpc.auth.me.queryKey(), null);
      },
    }),
  );

  const sections = orgId
    ? [
        { href: orgPath(orgId), label: 'Sites', exact: true },
        { href: statsPath(orgId), label: 'Statistics', exact: false },
        { href: changesPath(orgId), label: 'Changes', exact: false },
        // The server shows the audit log to admins and owners only.
        ...(roleAtLeast(role, 'admin') ? [{ href: auditPath(orgId), label: 'Audit log', exact: false }] : []),
        { href: settingsPath(orgId), label: 'Settings', exact: false },
      ]
    : [];

  return (
    <div className="app">
      <header className="app-header">
        <Link href={homePath()} className="brand">
          sipwall
        </Link>
        {organizations.length > 0 ? (
          <label className="org-switcher">
            <span className="visually-hidden">Organization</span>
            <select
              value={orgId ?? ''}
              onChange={(e) => {
                if (e.target.value) navigate(orgPath(e.target.value));
              }}
            >
              {orgId === undefined || !organizations.some((o) => o.id === orgId) ? (
                <option value="">Choose an organization…</option>
              ) : null}
              {organizations.map((o) => (
                <option key={o.id} value={o.id}>
                  {o.name}
                </option>
              ))}
            </select>
          </label>
        ) : null}
        {sections.length > 0 ? (
          <nav className="main-nav" aria-label="Organization">
            {sections.map((s) => {
              const path = s.href.split('?')[0] ?? s.href;
              const active = s.exact
                ? location === path ||
                  location.startsWith(`${path}/sites/`) ||
                  location.startsWith(`${path}/agents/`)
                : location.startsWith(path);
              return (
                <Link key={s.label} href={s.href} aria-current={active ? 'page' : undefined}>
                  {s.label}
                </Link>
              );
            })}
          </nav>
        ) : null}
        <span className="spacer" />
        <Link href={accountPath()} className="operator" title={operator.name}>
          {operator.email}
        </Link>
        <button type="button" onClick={() => signOut.mutate()} disabled={signOut.isPending}>
          Sign out
        </button>
      </header>
      <ErrorMessage error={signOut.error} title="Sign-out failed" />
      <main className="app-main">{children}</main>
    </div>
  );
}
