/**
 * Log lines for problems that can come once per packet, such as a reply the
 * kernel refuses to send. Whoever sends the packets decides how often those
 * happen, so a flood of spoofed requests must not become a flood of log
 * lines (one per batch of 32 made 16,000 lines in 5 s). The first problem
 * is logged as it comes; those after it are counted by kind and summed up
 * in one line per interval while they go on. That is at most one line per
 * interval, plus the first. The counters in serverstats and the metrics
 * carry the detail.
 */

/** How often a summary line may be written while problems go on. */
export const PROBLEM_SUMMARY_INTERVAL_MS = 10_000;
/** Kinds counted separately in one summary; the rest are counted as `other`. */
const MAX_KINDS = 8;

export class ProblemLog {
  readonly #log: (line: string) => void;
  readonly #subject: string;
  readonly #intervalMs: number;
  #timer: NodeJS.Timeout | null = null;
  readonly #counts = new Map<string, number>();
  #total = 0;
  #last = '';

  /** `subject` starts the summary lines ("socket 0.0.0.0:123"). */
  constructor(log: (line: string) => void, subject: string, intervalMs = PROBLEM_SUMMARY_INTERVAL_MS) {
    this.#log = log;
    this.#subject = subject;
    this.#intervalMs = intervalMs;
  }

  /** One problem: `kind` groups it in the summary (an errno code), `line` says it in full. */
  report(kind: string, line: string): void {
    if (this.#timer === null) {
      this.#log(line);
      this.#arm();
      return;
    }
    const k = this.#counts.has(kind) || this.#counts.size < MAX_KINDS ? kind : 'other';
    this.#counts.set(k, (this.#counts.get(k) ?? 0) + 1);
    this.#total++;
    this.#last = line;
  }

  /** Writes what is still counted and stops the timer. */
  close(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#flush();
  }

  #arm(): void {
    this.#timer = setTimeout(() => {
      // Problems went on: summed up now, and the next interval counts too. Otherwise the next one is logged at once.
      if (this.#flush()) this.#arm();
      else this.#timer = null;
    }, this.#intervalMs);
    this.#timer.unref();
  }

  #flush(): boolean {
    if (this.#total === 0) return false;
    const kinds = [...this.#counts].map(([k, n]) => `${k} ${n}`).join(', ');
    this.#log(`${this.#subject}: ${this.#total} more since the previous line (${kinds}), the last: ${this.#last}`);
    this.#counts.clear();
    this.#total = 0;
    this.#last = '';
    return true;
  }
}
