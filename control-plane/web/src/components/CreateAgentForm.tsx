import { useMutation, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useId, useState } from 'react';
import { type CreatedAgent, useTRPC } from '../trpc.js';
import { EnrollmentTokenNotice } from './EnrollmentTokenNotice.js';
import { ErrorMessage } from './ErrorMessage.js';

interface CreateAgentFormProps {
  siteId: string;
  siteName: string;
  /** Whether the agent has traded its token yet (from the polled fleet list). */
  isEnrolled: (agentId: string) => boolean;
}

/** Adds an agent to a site and shows its one-time enrollment token (kept in memory only). */
export function CreateAgentForm({ siteId, siteName, isEnrolled }: CreateAgentFormProps) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [name, setName] = useState('');
  const [created, setCreated] = useState<CreatedAgent | null>(null);
  const id = useId();
  const create = useMutation(
    trpc.agents.create.mutationOptions({
      onSuccess: async (result) => {
        setName('');
        setCreated(result);
        await queryClient.invalidateQueries({ queryKey: trpc.agents.list.queryKey() });
        await queryClient.invalidateQueries({ queryKey: trpc.overview.sites.queryKey() });
      },
    }),
  );

  function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setCreated(null);
    create.mutate({ siteId, name: name.trim() });
  }

  return (
    <div className="create-agent">
      <form className="inline-form" onSubmit={onSubmit}>
        <div className="field inline">
          <label htmlFor={id}>New agent</label>
          <input
            id={id}
            required
            value={name}
            onChange={(e) => setName(e.target.value)}
            placeholder="e.g. edge-fw-1"
          />
        </div>
        <button type="submit" disabled={create.isPending}>
          Add agent
        </button>
        <ErrorMessage error={create.error} />
      </form>
      {created ? (
        <EnrollmentTokenNotice
          agentName={created.agent.name}
          siteName={siteName}
          token={created.enrollmentToken}
          enrolled={isEnrolled(created.agent.id)}
          onDismiss={() => setCreated(null)}
        />
      ) : null}
    </div>
  );
}
