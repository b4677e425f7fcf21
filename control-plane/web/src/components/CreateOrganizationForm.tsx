import { useMutation, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useId, useState } from 'react';
import { useLocation } from 'wouter';
import { orgPath } from '../lib/route-links.js';
import { useTRPC } from '../trpc.js';
import { ErrorMessage } from './ErrorMessage.js';

/** Creates an organization and opens its overview. */
export function CreateOrganizationForm() {
  const trpc = useTRPC();
  const [, navigate] = useLocation();
  const queryClient = useQueryClient();
  const [name, setName] = useState('');
  const id = useId();
  const create = useMutation(
    trpc.organizations.create.mutationOptions({
      onSuccess: async (organization) => {
        setName('');
        await queryClient.invalidateQueries({ queryKey: trpc.organizations.list.queryKey() });
        navigate(orgPath(organization.id));
      },
    }),
  );

  function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    create.mutate({ name: name.trim() });
  }

  return (
    <form className="inline-form" onSubmit={onSubmit}>
      <div className="field inline">
        <label htmlFor={id}>New organization</label>
        <input
          id={id}
          required
          value={name}
          onChange={(e) => setName(e.target.value)}
          placeholder="e.g. Acme Corp"
        />
      </div>
      <button type="submit" disabled={create.isPending}>
        Create organization
      </button>
      <ErrorMessage error={create.error} />
    </form>
  );
}
