/**
 * Restart intensity: OTP's rule that a supervisor gives up when more than
 * `intensity` restarts happen within `period` seconds.
 * @module
 */

/**
 * Counts restarts in a sliding window. {@link RestartIntensity.add} records a
 * restart and returns false when the supervisor must give up.
 *
 * @example
 * ```ts
 * const r = new RestartIntensity(1, 5);
 * r.add(); // true: 1 restart in 5 s is allowed
 * r.add(); // false: 2 restarts in 5 s is one too many
 * ```
 */
export class RestartIntensity {
  private restarts: number[] = [];

  constructor(
    readonly intensity: number,
    /** Seconds. */
    readonly period: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Records a restart now; false when there are now more than `intensity` restarts within `period`. */
  add(): boolean {
    const now = this.now();
    const threshold = now - this.period * 1000;
    this.restarts = this.restarts.filter((t) => t >= threshold);
    this.restarts.push(now);
    return this.restarts.length <= this.intensity;
  }

  /** Restarts currently counted. */
  get count(): number {
    return this.restarts.length;
  }
}
