/**
 * Work that must reach the kernel before any SIP message leaves the agent. The bindings journal
 * registers the write of its lines of this turn here; every transport calls {@link beforeSend}
 * right before it hands bytes to a socket. So a 200 is never on the wire before its binding is in
 * the journal file, and a burst of REGISTERs costs one journal write per event-loop turn instead
 * of one per REGISTER.
 */
const pending: Array<() => void> = [];

/** Runs `fn` before the next send (or never, if it has run by other means and `fn` is a no-op). */
export function runBeforeNextSend(fn: () => void): void {
  pending.push(fn);
}

/** Runs what was registered, in order; called by every transport before it writes to a socket. */
export function beforeSend(): void {
  if (pending.length === 0) return;
  for (const fn of pending.splice(0)) {
    try {
      fn();
    } catch {
      // A registered write reports its own failures; a send must not be stopped by one.
    }
  }
}
