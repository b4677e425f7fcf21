import { useMutation, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useId, useState } from 'react';
import { useTRPC } from '../trpc.js';
import { ErrorMessage } from './ErrorMessage.js';

interface CreateSiteFormProps {
  organizationId: string;
}

export function CreateSiteForm({ organizationId }: CreateSiteFormProps) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [name, setName] = useState('');
  const id = useId();
  const create = useMutation(
    trpc.sites.create.mutationOptions({
      onSuccess: async () => {
        setName('');
        await queryClient.invalidateQueries({ queryKey: trpc.sites.list.queryKey({ organizationId }) });
      },
    }),
  );

  function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    create.mutate({ organizationId, name: name.trim() });
  }

  return (
    <form className="inline-form" onSubmit={onSubmit}>
      <div className="field inline">
        <label htmlFor={id}>New site</label>
        <input
          id={id}
          required
          value={name}
          onChange={(e) => setName(e.target.value)}
          placeholder="e.g. Berlin office"
        />
      </div>
      <button type="submit" disabled={create.isPending}>
        Add site
      </button>
      <ErrorMessage error={create.error} />
    </form>
  );
}
