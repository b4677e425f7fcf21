import { useEffect } from 'react';

/** Sets the tab title to `parts` (most specific first) followed by "sipwall". */
export function useTitle(...parts: (string | undefined)[]): void {
  const title = [...parts.filter((p): p is string => Boolean(p)), 'sipwall'].join(' · ');
  useEffect(() => {
    document.title = title;
  }, [title]);
}
