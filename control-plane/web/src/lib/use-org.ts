import { useQuery } from '@tanstack/react-query';
import { type Organization, useTRPC } from '../trpc.js';
import { isRole, type Role } from './roles.js';

export interface OrgAccess {
  organization: Organization | undefined;
  /** The signed-in operator's role here; `viewer` until known (controls stay hidden). */
  role: Role;
  organizations: Organization[];
  isPending: boolean;
  error: unknown;
}

/** The organizations the operator belongs to, and their role in `orgId`. */
export function useOrg(orgId: string | undefined): OrgAccess {
  const trpc = useTRPC();
  const list = useQuery(trpc.organizations.list.queryOptions(undefined, { staleTime: 30_000 }));
  const organizations = list.data ?? [];
  const organization = organizations.find((o) => o.id === orgId);
  const role: Role = organization && isRole(organization.role) ? organization.role : 'viewer';
  return { organization, role, organizations, isPending: list.isPending, error: list.error };
}
