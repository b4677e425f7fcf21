interface ReportedError {
  path: string;
  message: string;
}

interface ReportedStatusProps {
  status: string | null | undefined;
  errors: readonly ReportedError[] | null | undefined;
}

/** The agent's own report (`applied`, `rejected`, `standalone`) and its errors, if any. */
export function ReportedStatus({ status, errors }: ReportedStatusProps) {
  const list = errors ?? [];
  return (
    <div className="reported">
      {status ? <span className={`tag tag-${status}`}>{status}</span> : <span className="muted">—</span>}
      {list.length > 0 ? (
        <ul className="reported-errors">
          {list.map((e) => (
            <li key={`${e.path}:${e.message}`}>
              {e.path ? <code>{e.path}</code> : null} {e.message}
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}
