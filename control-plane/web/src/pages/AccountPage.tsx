import type { Operator } from '../trpc.js';

/** `/account` — the signed-in operator. */
export function AccountPage({ operator }: { operator: Operator }) {
  return (
    <section className="page">
      <h1>Account</h1>
      <dl className="facts">
        <dt>Name</dt>
        <dd>{operator.name}</dd>
        <dt>Email</dt>
        <dd>{operator.email}</dd>
      </dl>
    </section>
  );
}
