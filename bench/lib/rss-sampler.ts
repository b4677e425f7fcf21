/**
 * A process's resident set size sampled on a timer (from /proc/<pid>/status), for a bench that
 * wants the peak over a stretch of load and the curve beside it in its results.
 */
import { rssBytes } from '../register/procs.js';

export class RssSampler {
  /** [milliseconds since start(), RSS bytes] every `everyMs`. */
  readonly samples: Array<[number, number]> = [];
  peak = 0;
  private timer: NodeJS.Timeout | undefined;
  private t0 = 0;

  constructor(
    private readonly pid: number,
    private readonly everyMs: number,
  ) {}

  start(): void {
    this.t0 = performance.now();
    this.sample();
    this.timer = setInterval(() => this.sample(), this.everyMs);
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  private sample(): void {
    const rss = rssBytes(this.pid);
    if (rss === 0) return; // gone
    this.peak = Math.max(this.peak, rss);
    this.samples.push([Math.round(performance.now() - this.t0), rss]);
  }
}
