import { useMutation, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useId, useState } from 'react';
import { useLocation } from 'wouter';
import { sitePath } from '../lib/route-links.js';
import { useTRPC } from '../trpc.js';
import { ErrorMessage } from './ErrorMessage.js';

interface CreateSiteFormProps {
  organizationId: string;
}

/** Adds a site and opens its page. */
export function CreateSiteForm({ organizationId }: CreateSiteFormProps) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [, navigate] = useLocation();
  const [name, setName] = useState('');
  const id = useId();
  const create = useMutation(
    trpc.sites.create.mutationOptions({
      onSuccess: async (site) => {
        setName('');
        await queryClient.invalidateQueries({ queryKey: trpc.sites.list.queryKey({ organizationId }) });
        await queryClient.invalidateQueries({ queryKey: trpc.overview.sites.queryKey({ organizationId }) });
        // The new site's page, where its first agent is added.
        navigate(sitePath(organizationId, site.id));
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
