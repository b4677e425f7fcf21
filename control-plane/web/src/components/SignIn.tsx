import { useMutation, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useId, useState } from 'react';
import { useTRPC } from '../trpc.js';
import { ErrorMessage } from './ErrorMessage.js';
import { useTitle } from '../lib/use-title.js';

/** Email + password; the server answers with an HttpOnly session cookie and the operator. */
export function SignIn() {
  useTitle('Sign in');
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const emailId = useId();
  const passwordId = useId();

  const signIn = useMutation(
    trpc.auth.signIn.mutationOptions({
      onSuccess: (result) => {
        setPassword('');
        queryClient.setQueryData(trpc.auth.me.queryKey(), result.operator);
      },
    }),
  );

  function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    signIn.mutate({ email: email.trim(), password });
  }

  return (
    <main className="page-centered">
      <form className="card sign-in" onSubmit={onSubmit} aria-labelledby={`${emailId}-title`}>
        <h1 id={`${emailId}-title`}>
          <span className="brand">sipwall</span> control plane
        </h1>
        <p className="muted">Sign in to manage your fleet.</p>
        <div className="field">
          <label htmlFor={emailId}>Email</label>
          <input
            id={emailId}
            type="email"
            autoComplete="username"
            required
            value={email}
            onChange={(e) => setEmail(e.target.value)}
          />
        </div>
        <div className="field">
          <label htmlFor={passwordId}>Password</label>
          <input
            id={passwordId}
            type="password"
            autoComplete="current-password"
            required
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        </div>
        <ErrorMessage error={signIn.error} />
        <button type="submit" className="primary" disabled={signIn.isPending}>
          {signIn.isPending ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
