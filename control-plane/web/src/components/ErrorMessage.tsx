import { errorMessage } from '../lib/errors.js';

interface ErrorMessageProps {
  error: unknown;
  title?: string;
}

/** A server (or network) error, shown verbatim in an alert region. */
export function ErrorMessage({ error, title }: ErrorMessageProps) {
  if (error === null || error === undefined) return null;
  return (
    <div className="error" role="alert">
      {title ? <strong>{title}: </strong> : null}
      <span className="error-text">{errorMessage(error)}</span>
    </div>
  );
}
