/** RFC 3261 §17 timer values (Table 4 in §A), derived from T1/T2/T4 and the transport's reliability. */
export interface TimerConfig {
  readonly t1Ms: number;
  readonly t2Ms: number;
  readonly t4Ms: number;
}

export interface TimerValues {
  /** INVITE request retransmit, initially T1, doubling (unreliable only). */
  readonly timerA: number;
  /** INVITE transaction timeout: 64·T1. */
  readonly timerB: number;
  /** Wait for response retransmits in ICT Completed: ≥ 32 s unreliable, 0 reliable. */
  readonly timerD: number;
  /** Non-INVITE request retransmit, initially T1, doubling up to T2 (unreliable only). */
  readonly timerE: number;
  /** Non-INVITE transaction timeout: 64·T1. */
  readonly timerF: number;
  /** INVITE final response retransmit, initially T1, doubling up to T2 (unreliable only). */
  readonly timerG: number;
  /** Wait for ACK: 64·T1. */
  readonly timerH: number;
  /** Wait for ACK retransmits in IST Confirmed: T4 unreliable, 0 reliable. */
  readonly timerI: number;
  /** Wait for request retransmits in NIST Completed: 64·T1 unreliable, 0 reliable. */
  readonly timerJ: number;
  /** Wait for response retransmits in NICT Completed: T4 unreliable, 0 reliable. */
  readonly timerK: number;
  /** RFC 6026 §7.1: IST Accepted lasts 64·T1 (absorbs INVITE retransmits after a 2xx). */
  readonly timerL: number;
  /** RFC 6026 §7.2: ICT Accepted lasts 64·T1 (passes extra 2xx up). */
  readonly timerM: number;
  readonly t2: number;
}

export function timerValues(config: TimerConfig, reliable: boolean): TimerValues {
  const { t1Ms: t1, t2Ms: t2, t4Ms: t4 } = config;
  return {
    timerA: t1,
    timerB: 64 * t1,
    timerD: reliable ? 0 : Math.max(32_000, 64 * t1),
    timerE: t1,
    timerF: 64 * t1,
    timerG: t1,
    timerH: 64 * t1,
    timerI: reliable ? 0 : t4,
    timerJ: reliable ? 0 : 64 * t1,
    timerK: reliable ? 0 : t4,
    timerL: 64 * t1,
    timerM: 64 * t1,
    t2,
  };
}
