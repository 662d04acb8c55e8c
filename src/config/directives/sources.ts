/** `server`, `pool` and `peer`: the same option table in both dialects (source-line.ts). */
import { type Directive, implemented } from '../directive.js';
import { parseSourceLine } from '../source-line.js';

const NAMES = ['server', 'pool', 'peer'];

export const SOURCE_DIRECTIVES: readonly Directive[] = [
  {
    chrony: {
      names: NAMES,
      grammar: 'HOST [OPTION...]',
      status: implemented((s, l) => {
        const src = parseSourceLine(s, l, 'chrony');
        if (src) s.b.sources.push(src);
      }),
    },
    ntp: {
      names: NAMES,
      grammar: '[-4|-6] HOST [OPTION...]',
      status: implemented((s, l) => {
        const src = parseSourceLine(s, l, 'ntp');
        if (src) s.b.sources.push(src);
      }),
    },
    field: 'sources',
    consumer: 'src/daemon/sync-daemon.ts',
    default: 'none',
    doc: 'Options: see "Source options". `peer` is polled as a server, with a warning. If `maxpoll` is below `minpoll`, it is raised to `minpoll`, with a warning. ntp.conf: `127.127.t.u` is a reference clock, warned about and not a source.',
  },
];
