/**
 * The simulator's agenda: a binary heap of callbacks keyed by true time, with
 * ties broken by insertion order so that a run is reproducible to the event.
 */
import type { Instant } from '../time/instant.js';

interface Entry {
  readonly at: Instant;
  readonly seq: number;
  readonly run: () => void;
}

function before(a: Entry, b: Entry): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

export class EventQueue {
  readonly #heap: Entry[] = [];
  #seq = 0;

  get size(): number {
    return this.#heap.length;
  }

  push(at: Instant, run: () => void): void {
    const h = this.#heap;
    h.push({ at, seq: this.#seq++, run });
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(h[i] as Entry, h[p] as Entry)) break;
      [h[i], h[p]] = [h[p] as Entry, h[i] as Entry];
      i = p;
    }
  }

  /** The earliest instant waiting, or null. */
  peek(): Instant | null {
    return this.#heap.length > 0 ? (this.#heap[0] as Entry).at : null;
  }

  pop(): { at: Instant; run: () => void } | null {
    const h = this.#heap;
    if (h.length === 0) return null;
    const top = h[0] as Entry;
    const last = h.pop() as Entry;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && before(h[l] as Entry, h[m] as Entry)) m = l;
        if (r < h.length && before(h[r] as Entry, h[m] as Entry)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m] as Entry, h[i] as Entry];
        i = m;
      }
    }
    return top;
  }
}
