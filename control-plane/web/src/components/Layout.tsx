import { useMutation, useQueryClient } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import { type Operator, useTRPC } from '../trpc.js';
import { ErrorMessage } from './ErrorMessage.js';

interface LayoutProps {
  operator: Operator;
  children: ReactNode;
}

/** Page chrome: brand, the signed-in operator and sign-out. */
export function Layout({ operator, children }: LayoutProps) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const signOut = useMutation(
    trpc.auth.signOut.mutationOptions({
      onSuccess: () => {
        // Forget everything the previous session could see, then show the sign-in form.
        queryClient.removeQueries();
        queryClient.setQueryData(trpc.auth.me.queryKey(), null);
      },
    }),
  );

  return (
    <div className="app">
      <header className="app-header">
        <span className="brand">sipwall</span>
        <span className="app-header-title">Fleet</span>
        <span className="spacer" />
        <span className="operator" title={operator.name}>
          {operator.email}
        </span>
        <button type="button" onClick={() => signOut.mutate()} disabled={signOut.isPending}>
          Sign out
        </button>
      </header>
      <ErrorMessage error={signOut.error} title="Sign-out failed" />
      <main className="app-main">{children}</main>
    </div>
  );
}
