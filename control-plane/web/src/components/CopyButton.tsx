import { useState } from 'react';

interface CopyButtonProps {
  text: string;
  label: string;
}

/** Copies `text` to the clipboard; says so for two seconds. */
export function CopyButton({ text, label }: CopyButtonProps) {
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');
  async function copy() {
    try {
      await navigator.clipboard.writeText(text);
      setState('copied');
    } catch {
      // Clipboard access needs a secure context; the text stays selectable by hand.
      setState('failed');
    }
    setTimeout(() => setState('idle'), 2_000);
  }
  return (
    <button type="button" onClick={() => void copy()} aria-label={label}>
      {state === 'copied' ? 'Copied' : state === 'failed' ? 'Copy failed — select it' : 'Copy'}
    </button>
  );
}
