import { useQuery } from '@tanstack/react-query';
import { ErrorMessage } from './components/ErrorMessage.js';
import { FleetPage } from './components/FleetPage.js';
import { Layout } from './components/Layout.js';
import { SignIn } from './components/SignIn.js';
import { useTRPC } from './trpc.js';

/** Signed out → the sign-in form; signed in → the fleet. `auth.me` is the single source of truth. */
export function App() {
  const trpc = useTRPC();
  const me = useQuery(trpc.auth.me.queryOptions());

  if (me.isPending) return <p className="page-loading">Loading…</p>;
  if (me.isError) {
    return (
      <main className="page-centered">
        <ErrorMessage error={me.error} title="The control plane is not reachable" />
        <button type="button" onClick={() => void me.refetch()}>
          Try again
        </button>
      </main>
    );
  }
  if (!me.data) return <SignIn />;
  return (
    <Layout operator={me.data}>
      <FleetPage />
    </Layout>
  );
}
