import { useMutation, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useId, useState } from 'react';
import { useTRPC } from '../trpc.js';
import { ErrorMessage } from './ErrorMessage.js';

interface CreateOrganizationFormProps {
  onCreated: (organizationId: string) => void;
}

export function CreateOrganizationForm({ onCreated }: CreateOrganizationFormProps) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [name, setName] = useState('');
  const id = useId();
  const create = useMutation(
    trpc.organizations.create.mutationOptions({
      onSuccess: async (organization) => {
        setName('');
        await queryClient.invalidateQueries({ queryKey: trpc.organizations.list.queryKey() });
        onCreated(organization.id);
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
