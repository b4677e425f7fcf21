import { useId } from 'react';
import type { Organization } from '../trpc.js';

interface OrganizationPickerProps {
  organizations: readonly Organization[];
  value: string;
  onChange: (organizationId: string) => void;
}

export function OrganizationPicker({ organizations, value, onChange }: OrganizationPickerProps) {
  const id = useId();
  return (
    <div className="field inline">
      <label htmlFor={id}>Organization</label>
      <select id={id} value={value} onChange={(e) => onChange(e.target.value)}>
        {organizations.map((o) => (
          <option key={o.id} value={o.id}>
            {o.name}
          </option>
        ))}
      </select>
    </div>
  );
}
