import { TRPCError } from '@trpc/server';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import { TRPC_ERROR_CODES_BY_KEY } from '@trpc/server/rpc';

/** Codes of refusals made by HTTP middleware before tRPC runs (clients match on these). */
export type HttpRefusalCode = 'payload-too-large' | 'csrf-content-type' | 'csrf-origin';

/**
 * A refusal in tRPC's error envelope, so `@trpc/client` turns it into a `TRPCClientError` with
 * `data.code` and `data.domainCode` (a non-array body answers every call of a batch).
 */
export function trpcRefusal(code: TRPCError['code'], domainCode: HttpRefusalCode, message: string): Response {
  const httpStatus = getHTTPStatusCodeFromError(new TRPCError({ code }));
  const body = {
    error: {
      message,
      code: TRPC_ERROR_CODES_BY_KEY[code],
      data: { code, httpStatus, domainCode, issues: null, errorId: null },
    },
  };
  return new Response(JSON.stringify(body), {
    status: httpStatus,
    headers: { 'content-type': 'application/json' },
  });
}
