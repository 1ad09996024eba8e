/**
 * The circuit breaker around the log append (seed §5.3, strategy 3), so a sick disk gets fast 503s instead of a
 * pile-up: closed → open after `failuresMax` consecutive failed appends; open refuses every append for `openMs`;
 * then half-open lets exactly one probe append through — its success closes the breaker, its failure opens it again.
 * Time comes from an injected Clock.
 */
import { assert, type Clock } from '../base/index.js';

export const breakerStates = ['closed', 'half-open', 'open'] as const;
export type BreakerState = (typeof breakerStates)[number];

/** Circuit breaker around the log append. Not reentrant-safe by design: one process, one event loop. */
export class CircuitBreaker {
  private current: BreakerState = 'closed';
  private failures = 0;
  private openedAtMs = 0;
  private probeInFlight = false;
  /** Called on every state change (metrics). */
  onTransition: ((from: BreakerState, to: BreakerState) => void) | null = null;

  constructor(
    readonly failuresMax: number,
    readonly openMs: number,
    private readonly clock: Clock,
  ) {
    assert(failuresMax >= 1, 'breakerFailuresMax must be >= 1', { failuresMax });
    assert(openMs > 0, 'breakerOpenMs must be > 0', { openMs });
  }

  /** The state now (an open breaker turns half-open once `openMs` has passed). */
  state(): BreakerState {
    if (this.current === 'open' && this.clock.monoMs() - this.openedAtMs >= this.openMs) {
      this.move('half-open');
    }
    return this.current;
  }

  /** Consecutive failures counted while closed. */
  failureCount(): number {
    return this.failures;
  }

  /**
   * Asks to start an append. Closed: yes. Open: no. Half-open: yes for exactly one probe at a time.
   * Every `true` must be followed by exactly one `onSuccess` or `onFailure`.
   */
  tryAcquire(): boolean {
    const state = this.state();
    if (state === 'closed') return true;
    if (state === 'open' || this.probeInFlight) return false;
    this.probeInFlight = true;
    return true;
  }

  /** Milliseconds until the breaker lets a probe through (0 unless open). */
  msUntilProbe(): number {
    if (this.state() !== 'open') return 0;
    return this.openMs - (this.clock.monoMs() - this.openedAtMs);
  }

  onSuccess(): void {
    this.failures = 0;
    if (this.current === 'half-open') {
      this.probeInFlight = false;
      this.move('closed');
    }
  }

  onFailure(): void {
    if (this.current === 'half-open') {
      this.probeInFlight = false;
      this.open();
      return;
    }
    if (this.current === 'open') return;
    this.failures += 1;
    if (this.failures >= this.failuresMax) this.open();
  }

  private open(): void {
    this.openedAtMs = this.clock.monoMs();
    this.failures = 0;
    this.move('open');
  }

  private move(to: BreakerState): void {
    const from = this.current;
    if (from === to) return;
    this.current = to;
    this.onTransition?.(from, to);
  }
}
