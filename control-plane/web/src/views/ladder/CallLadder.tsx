import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { ErrorMessage } from '../../components/ErrorMessage.js';
import { useTRPC } from '../../trpc.js';
import { type Arrow, arrowsOf, isFinished, LANES, partiesOf } from './layout.js';
import './ladder.css';

const REFRESH_MS = 3_000;
/** Lane centres in the SVG's 0…400 wide view box. */
const X = [50, 150, 250, 350] as const;
const ROW_HEIGHT = 34;

/**
 * A call's SIP messages on both legs drawn as a ladder, fetched live from the agent (its per-call
 * trace, `live.ladder`). Refreshed every few seconds until the call is over; click (or Enter on)
 * an arrow to read the whole message (credentials arrive redacted from the agent).
 */
export function CallLadder({
  organizationId: _organizationId,
  agentId,
  callId,
}: {
  organizationId: string;
  agentId: string;
  callId: string;
}) {
  const trpc = useTRPC();
  const [selected, setSelected] = useState<number | null>(null);
  const ladder = useQuery(
    trpc.live.ladder.queryOptions(
      { agentId, callId },
      {
        refetchInterval: (q) => {
          // Live while the call is up; a call the agent does not know (or an error) is not polled.
          const data = q.state.data;
          return data?.found && !isFinished(data.messages) ? REFRESH_MS : false;
        },
        retry: false,
      },
    ),
  );
  const data = ladder.data;
  const arrows = data ? arrowsOf(data.messages) : [];
  const parties = data ? partiesOf(data.messages) : {};
  const chosen = selected === null ? undefined : arrows[selected];

  return (
    // The page gives the heading ("SIP ladder"); this is the ladder's own region.
    <section className="ladder" aria-label="SIP messages of the call">
      <div className="ladder-bar">
        <button type="button" onClick={() => ladder.refetch()} disabled={ladder.isFetching}>
          {ladder.isFetching ? 'Refreshing…' : 'Refresh'}
        </button>
      </div>
      <ErrorMessage error={ladder.error} title="The agent's trace could not be fetched" />
      {ladder.isPending ? <p className="page-loading">Asking the agent…</p> : null}
      {data && !data.found ? (
        <p className="empty">
          The agent keeps no trace of this call (it keeps the messages of its most recent calls only).
        </p>
      ) : null}
      {data?.found ? (
        <>
          <p className="muted small">
            {arrows.length} messages{data.dropped > 0 ? `, ${data.dropped} older ones not kept` : ''}
            {isFinished(data.messages) ? ', call ended' : ', live'}.
          </p>
          <div className="ladder-lanes" aria-hidden="true">
            {LANES.map((lane, i) => (
              <div key={lane} className="ladder-lane">
                <strong>{lane}</strong>
                <span className="mono small">
                  {i === 0 ? (parties.inside ?? '') : i === 3 ? (parties.outside ?? '') : ''}
                </span>
              </div>
            ))}
          </div>
          <ol className="ladder-rows">
            {arrows.map((a) => (
              <li key={a.index}>
                <button
                  type="button"
                  className="ladder-row"
                  aria-pressed={selected === a.index}
                  aria-label={`${a.offset} ${a.label} from ${LANES[a.from]} to ${LANES[a.to]}`}
                  data-label={a.label}
                  onClick={() => setSelected(selected === a.index ? null : a.index)}
                >
                  <span className="ladder-offset mono">{a.offset}</span>
                  <span className="ladder-track">
                    <ArrowSvg arrow={a} />
                    <span
                      className="ladder-label mono"
                      style={{ left: `${((X[a.from] + X[a.to]) / 2 / 400) * 100}%` }}
                    >
                      {a.label}
                    </span>
                  </span>
                </button>
              </li>
            ))}
          </ol>
          {chosen ? (
            <div className="ladder-message" aria-live="polite">
              <h3>
                {chosen.label} — {chosen.message.direction === 'in' ? 'received from' : 'sent to'}{' '}
                <span className="mono">{chosen.message.peer}</span> on {chosen.message.interface} (
                {chosen.message.transport}), {chosen.offset}
              </h3>
              <pre className="mono" data-testid="ladder-message-text">
                {chosen.message.text}
                {chosen.message.truncated ? '\n… (cut by the agent)' : ''}
              </pre>
            </div>
          ) : null}
        </>
      ) : null}
    </section>
  );
}

function ArrowSvg({ arrow }: { arrow: Arrow }) {
  const x1 = X[arrow.from];
  const x2 = X[arrow.to];
  const y = ROW_HEIGHT / 2 + 4;
  const dir = x2 > x1 ? 1 : -1;
  const response = arrow.message.status !== null;
  return (
    <svg
      className="ladder-svg"
      viewBox={`0 0 400 ${ROW_HEIGHT}`}
      preserveAspectRatio="none"
      aria-hidden="true"
    >
      {X.map((x) => (
        <line key={x} x1={x} x2={x} y1={0} y2={ROW_HEIGHT} className="ladder-lifeline" />
      ))}
      <line
        x1={x1}
        x2={x2 - dir * 6}
        y1={y}
        y2={y}
        className={response ? 'ladder-arrow response' : 'ladder-arrow'}
      />
      <polygon
        points={`${x2},${y} ${x2 - dir * 7},${y - 4} ${x2 - dir * 7},${y + 4}`}
        className="ladder-head"
      />
    </svg>
  );
}
