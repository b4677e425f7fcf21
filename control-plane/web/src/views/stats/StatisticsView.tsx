import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useEffect, useMemo, useState } from 'react';
import { Link, useLocation, useSearch } from 'wouter';
import { ErrorMessage } from '../../components/ErrorMessage.js';
import { STATS_RANGES, type StatsRange, sitePath, statsPath } from '../../lib/route-links.js';
import { useTRPC } from '../../trpc.js';
import { Chart } from './Chart.js';
import {
  columnsOf,
  formatDuration,
  formatPercent,
  isStatsRange,
  RANGE_SPECS,
  type StatsPointWire,
  totalsOf,
  windowOf,
} from './range.js';
import './stats.css';

const REFRESH_MS = 60_000;

/**
 * Call statistics of an organization or one site: totals and charts (calls, ASR/ACD, peak
 * concurrent calls, failed authentications) over 24 h / 7 d / 30 d, and at organization level
 * the worst sites. Range and site live in the URL (`?range=`, `?site=`).
 */
export function StatisticsView({ organizationId, siteId }: { organizationId: string; siteId?: string }) {
  const trpc = useTRPC();
  const [, navigate] = useLocation();
  const search = new URLSearchParams(useSearch());
  const asked = search.get('range');
  const range: StatsRange = isStatsRange(asked) ? asked : '24h';
  // The window moves with each refresh; within one render it is fixed.
  const [now, setNow] = useState(() => Date.now());
  // The window follows the clock: it moves on at the next bucket boundary.
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), REFRESH_MS);
    return () => clearInterval(t);
  }, []);
  const w = useMemo(() => windowOf(range, now), [range, now]);
  const spec = RANGE_SPECS[range];
  const go = (next: { range?: StatsRange; siteId?: string | undefined }) => {
    const nextSite = 'siteId' in next ? next.siteId : siteId;
    navigate(
      statsPath(organizationId, {
        ...(nextSite ? { siteId: nextSite } : {}),
        range: next.range ?? range,
      }),
      { replace: true },
    );
    setNow(Date.now());
  };

  const sites = useQuery(trpc.sites.list.queryOptions({ organizationId }, { staleTime: 30_000 }));
  const target = siteId
    ? ({ scope: 'site', siteId } as const)
    : ({ scope: 'organization', organizationId } as const);
  const series = useQuery(
    trpc.stats.series.queryOptions(
      {
        target,
        from: new Date(w.from).toISOString(),
        to: new Date(w.to).toISOString(),
        bucket: spec.bucket,
      },
      { placeholderData: keepPreviousData, refetchInterval: REFRESH_MS },
    ),
  );
  const points = (series.data ?? []) as unknown as StatsPointWire[];
  const cols = useMemo(() => columnsOf(points, w), [points, w]);
  const totals = useMemo(() => totalsOf(points), [points]);
  const siteName = siteId ? sites.data?.find((s) => s.id === siteId)?.name : undefined;
  const per = spec.bucket === 'hour' ? 'hour' : 'day';

  const callSeries = useMemo(
    () => [
      { label: `Calls per ${per}`, values: cols.calls, color: '#2563eb', bars: true },
      { label: 'Answered', values: cols.answered, color: '#16a34a', bars: true },
    ],
    [cols, per],
  );
  const qualitySeries = useMemo(
    () => [
      { label: 'ASR', values: cols.asrPercent, color: '#7c3aed', unit: '%', points: true },
      { label: 'ACD', values: cols.acdSec, color: '#ea580c', right: true, unit: 's', points: true },
    ],
    [cols],
  );
  const peakSeries = useMemo(
    () => [{ label: 'Peak concurrent calls', values: cols.peakConcurrent, color: '#0891b2' }],
    [cols],
  );
  const authSeries = useMemo(
    () => [
      { label: 'Failed authentications', values: cols.failedAuths, color: '#dc2626', bars: true },
      { label: 'One-way media calls', values: cols.oneWayCalls, color: '#a16207', bars: true },
    ],
    [cols],
  );

  return (
    <div className="stats">
      <div className="stats-controls">
        <fieldset className="stats-range">
          <legend>Range</legend>
          {STATS_RANGES.map((r) => (
            <button
              key={r}
              type="button"
              aria-pressed={r === range}
              className={r === range ? 'active' : undefined}
              onClick={() => go({ range: r })}
            >
              {RANGE_SPECS[r].label}
            </button>
          ))}
        </fieldset>
        <label className="stats-site">
          Scope{' '}
          <select
            value={siteId ?? ''}
            onChange={(e) => go({ siteId: e.target.value === '' ? undefined : e.target.value })}
          >
            <option value="">Whole organization</option>
            {(sites.data ?? []).map((s) => (
              <option key={s.id} value={s.id}>
                {s.name}
              </option>
            ))}
          </select>
        </label>
        <button type="button" onClick={() => setNow(Date.now())} disabled={series.isFetching}>
          Refresh
        </button>
      </div>
      <p className="muted small">
        {siteId ? (
          <>
            Site <Link href={sitePath(organizationId, siteId)}>{siteName ?? siteId}</Link>
          </>
        ) : (
          'All sites'
        )}
        , {new Date(w.from).toLocaleString()} – {new Date(w.to).toLocaleString()}, one point per {per}.
      </p>
      <ErrorMessage error={series.error} title="Statistics could not be loaded" />
      {series.isPending ? <p className="page-loading">Loading statistics…</p> : null}
      {!series.isPending && !series.error && points.length === 0 ? (
        <p className="empty stats-empty">
          No calls, authentications or registrations in the last {spec.label}
          {siteId ? ' at this site' : ''}.
        </p>
      ) : null}
      {points.length > 0 ? (
        <>
          <dl className="stats-totals" aria-label="Totals over the range">
            <div>
              <dt>Calls</dt>
              <dd data-testid="total-calls">{totals.calls}</dd>
            </div>
            <div>
              <dt>ASR</dt>
              <dd>{formatPercent(totals.asr)}</dd>
            </div>
            <div>
              <dt>ACD</dt>
              <dd>{formatDuration(totals.acdSec)}</dd>
            </div>
            <div>
              <dt>Peak concurrent</dt>
              <dd>{totals.peakConcurrent}</dd>
            </div>
            <div>
              <dt>Failed authentications</dt>
              <dd>{totals.failedAuths}</dd>
            </div>
            <div>
              <dt>One-way media</dt>
              <dd>{totals.oneWayCalls}</dd>
            </div>
          </dl>
          <div className="stats-charts">
            <Chart
              title={`Calls per ${per}`}
              summary={`${totals.calls} calls, ${totals.answered} answered`}
              x={cols.x}
              series={callSeries}
            />
            <Chart
              title="ASR and ACD"
              summary={`ASR ${formatPercent(totals.asr)}, ACD ${formatDuration(totals.acdSec)}`}
              x={cols.x}
              series={qualitySeries}
            />
            <Chart
              title="Peak concurrent calls"
              summary={`peak ${totals.peakConcurrent}`}
              x={cols.x}
              series={peakSeries}
            />
            <Chart
              title="Failed authentications and one-way media"
              summary={`${totals.failedAuths} failed authentications, ${totals.oneWayCalls} one-way calls`}
              x={cols.x}
              series={authSeries}
            />
          </div>
        </>
      ) : null}
      {siteId ? null : <WorstSites organizationId={organizationId} from={w.from} to={w.to} range={range} />}
    </div>
  );
}

const ORDERS = [
  { by: 'asr', label: 'Lowest ASR' },
  { by: 'failedAuths', label: 'Most failed authentications' },
  { by: 'oneWay', label: 'Most one-way media' },
] as const;
type Order = (typeof ORDERS)[number]['by'];

/** The organization's worst sites over the same window, by the chosen measure. */
function WorstSites(props: { organizationId: string; from: number; to: number; range: StatsRange }) {
  const trpc = useTRPC();
  const [by, setBy] = useState<Order>('asr');
  const worst = useQuery(
    trpc.stats.worstSites.queryOptions(
      {
        organizationId: props.organizationId,
        from: new Date(props.from).toISOString(),
        to: new Date(props.to).toISOString(),
        by,
      },
      { placeholderData: keepPreviousData, refetchInterval: REFRESH_MS },
    ),
  );
  const rows = worst.data ?? [];
  return (
    <section className="stats-worst" aria-labelledby="worst-sites-title">
      <div className="section-bar">
        <h2 id="worst-sites-title">Worst sites</h2>
        <fieldset className="stats-range">
          <legend className="visually-hidden">Rank by</legend>
          {ORDERS.map((o) => (
            <button
              key={o.by}
              type="button"
              aria-pressed={o.by === by}
              className={o.by === by ? 'active' : undefined}
              onClick={() => setBy(o.by)}
            >
              {o.label}
            </button>
          ))}
        </fieldset>
      </div>
      <ErrorMessage error={worst.error} title="Worst sites could not be loaded" />
      {worst.isPending ? <p className="page-loading">Loading…</p> : null}
      {!worst.isPending && rows.length === 0 && !worst.error ? (
        <p className="empty">No site has {by === 'asr' ? 'calls' : 'any'} in this range.</p>
      ) : null}
      {rows.length > 0 ? (
        <table className="stats-worst-table">
          <thead>
            <tr>
              <th scope="col">Site</th>
              <th scope="col">Calls</th>
              <th scope="col">ASR</th>
              <th scope="col">Failed auth.</th>
              <th scope="col">One-way</th>
              <th scope="col">Peak</th>
              <th scope="col">
                <span className="visually-hidden">Statistics</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.siteId}>
                <th scope="row">
                  <Link href={sitePath(props.organizationId, r.siteId)}>{r.name}</Link>
                </th>
                <td>{r.calls}</td>
                <td>{formatPercent(r.asr)}</td>
                <td>{r.failedAuths}</td>
                <td>{r.oneWayCalls}</td>
                <td>{r.peakConcurrent}</td>
                <td>
                  <Link href={statsPath(props.organizationId, { siteId: r.siteId, range: props.range })}>
                    charts
                  </Link>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}
