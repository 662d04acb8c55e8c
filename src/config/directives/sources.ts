/** `server`, `pool` and `peer`: the same option table in both dialects (source-line.ts). */
import { type ChronyHandler, type Dialect, type DialectForm, type Directive, implemented } from '../directive.js';
import { parseSourceLine } from '../source-line.js';

const NAMES = ['server', 'pool', 'peer'];

/** The same line in either dialect, read against that dialect's option names. */
function sourceForm(dialect: Dialect, grammar: string): DialectForm<ChronyHandler> {
  return {
    names: NAMES,
    grammar,
    status: implemented((s, l) => {
      const src = parseSourceLine(s, l, dialect);
      if (src) s.b.sources.push(src);
    }),
  };
}

export const SOURCE_DIRECTIVES: readonly Directive[] = [
  {
    chrony: sourceForm('chrony', 'HOST [OPTION...]'),
    ntp: sourceForm('ntp', '[-4|-6] HOST [OPTION...]'),
    field: 'sources',
    consumer: 'src/daemon/engine-options.ts',
    default: 'none',
    doc: 'Options: see "Source options". `peer` is a symmetric active association (basic mode, RFC 5905) polled as chronyd polls peers: no burst or iburst, `xleave` and `nts` refused. If `maxpoll` is below `minpoll`, it is raised to `minpoll`, with a warning. ntp.conf: `127.127.t.u` is a reference clock, warned about and not a source.',
  },
];
