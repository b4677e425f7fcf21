import type { AppRouter } from '@sipwall/control-plane';
import { QueryCache, QueryClient } from '@tanstack/react-query';
import { createTRPCClient, httpBatchLink, isTRPCClientError } from '@trpc/client';
import { createTRPCContext, type inferOutput, type TRPCOptionsProxy } from '@trpc/tanstack-react-query';

/** React bindings for the control plane's tRPC API (typed by `AppRouter`, a type-only import). */
export const { TRPCProvider, useTRPC, useTRPCClient } = createTRPCContext<AppRouter>();

/** Same-origin `/trpc`; the session travels in the HttpOnly `sipwall_session` cookie, never in JS. */
export function createApiClient() {
  return createTRPCClient<AppRouter>({
    links: [
      // fetch's default `credentials: 'same-origin'` sends the cookie; nothing else to configure.
      httpBatchLink({ url: '/trpc' }),
    ],
  });
}

/** Whether an error from a query or mutation means "no (longer a) valid session". */
export function isUnauthorized(error: unknown): boolean {
  return isTRPCClientError(error) && error.data?.code === 'UNAUTHORIZED';
}

/** `auth.me`'s query key, as the tRPC query-key format builds it (`[['auth','me'], …]`). */
export function isMeQuery(queryKey: readonly unknown[]): boolean {
  const path = queryKey[0];
  return Array.isArray(path) && path[0] === 'auth' && path[1] === 'me';
}

/** `auth.me`'s exact key (no input, a query). */
const meKey = [['auth', 'me'], { type: 'query' }] as const;

export function createQueryClient(): QueryClient {
  const queryClient: QueryClient = new QueryClient({
    defaultOptions: {
      queries: {
        staleTime: 1_000,
        // An expired session is not worth retrying; other failures get one retry.
        retry: (failureCount, error) => !isUnauthorized(error) && failureCount < 1,
      },
    },
    queryCache: new QueryCache({
      // A query refused for lack of a session means the session is gone: the sign-in form at once.
      onError: (error, query) => {
        if (isUnauthorized(error) && !isMeQuery(query.queryKey)) {
          queryClient.setQueryData(meKey, null);
        }
      },
    }),
  });
  return queryClient;
}

type Api = TRPCOptionsProxy<AppRouter>;
export type Operator = NonNullable<inferOutput<Api['auth']['me']>>;
export type Organization = inferOutput<Api['organizations']['list']>[number];
export type Site = inferOutput<Api['sites']['list']>[number];
export type SiteHealth = inferOutput<Api['overview']['sites']>[number];
export type AgentDetail = inferOutput<Api['agents']['get']>;
export type LiveRegistration = inferOutput<Api['live']['registrations']>['rows'][number];
export type LiveCall = inferOutput<Api['live']['calls']>['rows'][number];
export type CallRecord = inferOutput<Api['stats']['recentCalls']>['rows'][number];
/** One traced SIP message of a call's ladder (`LadderMessageSchema` in shared/src/mqtt/rpc.ts). */
export type LadderMessage = inferOutput<Api['live']['ladder']>['messages'][number];
export type AgentSummary = inferOutput<Api['agents']['list']>[number];
export type CreatedAgent = inferOutput<Api['agents']['create']>;
