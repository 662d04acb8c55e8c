/**
 * chronyc selectdata's and authdata's figures of one source: the state letter chronyd's
 * selection gives it (sources.c get_status_char), its options, the age of
 * its last sample, its score and its correctness interval.
 */
import { diffSeconds, type Instant } from '../../time/instant.js';
import type { AuthDataReport, AuthKeyReport, SelectDataReport, SelectOptions } from './engine-api.js';
import type { Timescale } from './source-measurement.js';
import type { TrackedSource } from './tracked-source.js';
import { WAITING_FOR_SAMPLES } from './selection.js';

/** chronyd's letter for our verdict and its reason. */
function stateChar(s: TrackedSource): string {
  const { verdict, reason } = s.verdict;
  switch (verdict) {
    case 'selected': return '*';
    case 'combined': return '+';
    case 'falseticker': return 'x';
    // chronyd's SRC_NONPREFERRED (a prefer source is selected), else SRC_DISTANT (beyond combinelimit).
    case 'not-combined': return reason.startsWith('a preferred') ? 'P' : 'D';
    // SRC_BAD_DISTANCE (over maxdistance) or SRC_JITTERY (over maxjitter).
    case 'jittery': return reason.startsWith('distance') ? 'd' : '~';
    case 'unusable': {
      if (s.options.noselect || reason.startsWith('noselect')) return 'N';
      // SRC_WAITS_STATS: usable, held back until the others have their samples.
      if (reason === WAITING_FOR_SAMPLES) return 'w';
      const why = s.unusableReason() ?? reason;
      // SRC_UNSYNCHRONISED (also before any reply: chronyd holds the leap unknown until one), else SRC_BAD_STATS (missing samples).
      return why.includes('unsynchronized') || why.startsWith('no reply yet') ? 's' : 'M';
    }
  }
}

/**
 * `effective`: the options selection applies after authselectmode (the configured ones when absent).
 */
export function selectData(s: TrackedSource, now: Instant, ts: Timescale, effective?: SelectOptions): SelectDataReport {
  const est = s.estimate(now, ts);
  const m = s.measurement;
  const o = s.options;
  const options = { noselect: o.noselect, prefer: o.prefer, trust: o.trust, require: o.require };
  const distance = est?.distance ?? 0;
  // The estimate's offset is of the source against us; chronyc's interval is of us against it.
  const offset = est === null ? 0 : -est.intervalOffset;
  const announced = s.leap();
  const leap = s.unsynchronized ? 'unsynchronized' : announced === 'none' ? 'normal' : announced;
  return {
    sourceId: s.id,
    name: s.options.host,
    address: s.address,
    referenceId: s.ownRefid(),
    state: stateChar(s),
    authenticated: s.poller.authenticated,
    configuredOptions: options,
    effectiveOptions: effective === undefined ? options : { noselect: effective.noselect, prefer: effective.prefer, trust: effective.trust, require: effective.require },
    lastSampleAgo: m.lastRxAt === null ? 0 : Math.max(0, diffSeconds(now, m.lastRxAt)),
    score: s.selScore,
    loLimit: est === null ? 0 : offset - distance,
    hiLimit: est === null ? 0 : offset + distance,
    leap,
  };
}

const NO_KEY: AuthKeyReport = { keyId: 0, keyType: 0, keyLengthBits: 0, lastKeAgo: null, keAttempts: 0, cookies: 0, cookieLength: 0 };

/** chronyc authdata's row: how the source's packets are authenticated and with what (chronyd's NAU_GetReport). */
export function authData(s: TrackedSource): AuthDataReport {
  const auth = s.poller.auth;
  return {
    sourceId: s.id, name: s.options.host, address: s.address, mode: auth?.kind ?? 'none',
    ...(auth?.report?.() ?? NO_KEY),
    naks: s.poller.authNaks,
  };
}
