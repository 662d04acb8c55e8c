/**
 * Both config parsers (src/config parseConfigText, chrony.conf and ntp.conf)
 * on mutated configs, with include/confdir/includefile served from an
 * in-memory tree that holds the fuzzed text itself (so it may include
 * itself) and files that include each other.
 * Invariants: no exception; a config exactly when there are no errors; every
 * diagnostic names a file that was read and a line within it (0: the whole
 * file), with a message.
 */
import { parseConfigText } from '../../config/parse-config.js';
import { type FuzzTarget, invariant } from './harness.js';
import { configDictionary } from './dictionary.js';
import { configFixtures, utf8 } from './seeds.js';

const decoder = new TextDecoder('utf-8', { fatal: false });
// One error object for every missing file: a fresh Error's stack trace costs more than the parse of a small file.
const ENOENT = Object.assign(new Error('ENOENT: no such file or directory'), { code: 'ENOENT' });

const CHRONY_SEEDS = [
  'server 192.0.2.1 iburst minpoll 4 maxpoll 10 xleave\npool 2.debian.pool.ntp.org iburst maxsources 3\nallow 192.0.2.0/24\ndeny all\nratelimit interval 3 burst 8 leak 2\nmakestep 1 3\nlocal stratum 10\ndriftfile /var/lib/chrony/drift\n',
  'include /etc/fuzz/a.conf\nconfdir /etc/fuzz/d\nsourcedir /etc/fuzz/d\nserver 192.0.2.2 key 5 nts\n',
  'include /etc/fuzz/self.conf\nserver 192.0.2.3\n',
];
const NTP_SEEDS = [
  'server 192.0.2.1 iburst minpoll 4 maxpoll 10\nrestrict default kod limited nomodify nopeer noquery\nrestrict 127.0.0.1\ndriftfile /var/lib/ntp/drift\ntinker panic 0\ntos minsane 2\nkeys /etc/ntp.keys\ntrustedkey 1 2\n',
  'includefile /etc/fuzz/a.ntp.conf\nserver 127.127.1.0\nfudge 127.127.1.0 stratum 10\ndiscard average 3\n',
  'includefile /etc/fuzz/self.conf\npool 192.0.2.4 iburst\n',
];

function files(self: string, format: 'chrony' | 'ntp'): Record<string, string> {
  return {
    '/etc/fuzz/self.conf': self,
    '/etc/fuzz/a.conf': 'server 192.0.2.9\ninclude /etc/fuzz/b.conf\n',
    '/etc/fuzz/b.conf': 'include /etc/fuzz/a.conf\n',
    '/etc/fuzz/a.ntp.conf': 'server 192.0.2.9\nincludefile /etc/fuzz/a.ntp.conf\n',
    '/etc/fuzz/d/one.conf': format === 'chrony' ? 'server 192.0.2.5\n' : 'server 192.0.2.5\n',
    '/etc/fuzz/d/two.sources': 'server 192.0.2.6 iburst\n',
    '/etc/fuzz/d/three.conf': self.slice(0, 200),
  };
}

function configTarget(format: 'chrony' | 'ntp'): FuzzTarget {
  return {
    name: `${format}-conf`,
    description: `parseConfigText, ${format === 'chrony' ? 'chrony.conf' : 'ntp.conf'} format, with include/confdir from an in-memory tree`,
    maxLength: 4096,
    // A config that includes itself reads up to MAX_INCLUDED_FILES (1000) files of up to 4 KB: about 60 ms on an
    // idle machine, several times that on a loaded CI runner. A fan-out without the cap took 30 s and more.
    maxInputMs: 1000,
    seeds: () => [...configFixtures(format), ...(format === 'chrony' ? CHRONY_SEEDS : NTP_SEEDS).map(utf8)],
    dictionary: configDictionary,
    create: () => (input) => {
      const text = decoder.decode(input);
      const tree = files(text, format);
      const read = new Set<string>(['fuzz.conf']);
      const dirs = new Map<string, string[]>();
      for (const p of Object.keys(tree)) {
        const cut = p.lastIndexOf('/');
        for (let d = p.slice(0, cut), name = p.slice(cut + 1); d !== ''; name = d.slice(d.lastIndexOf('/') + 1), d = d.slice(0, d.lastIndexOf('/'))) {
          const list = dirs.get(d) ?? [];
          if (!list.includes(name)) list.push(name);
          dirs.set(d, list);
        }
      }
      const r = parseConfigText(text, 'fuzz.conf', {
        format,
        readFile: (p) => {
          const t = tree[p];
          if (t === undefined) throw ENOENT;
          read.add(p);
          return t;
        },
        listDir: (d) => {
          const names = dirs.get(d.endsWith('/') ? d.slice(0, -1) : d);
          if (names === undefined) throw ENOENT;
          return names;
        },
      });
      invariant((r.config === null) === (r.errors.length > 0), 'a config was returned with errors, or none without');
      for (const d of [...r.errors, ...r.warnings]) {
        invariant(typeof d.message === 'string' && d.message.length > 0, 'a diagnostic without a message');
        invariant(read.has(d.file) || tree[d.file] !== undefined || d.file.startsWith('/etc/fuzz/'), () => `a diagnostic names ${JSON.stringify(d.file)}, which is not a file of this config`);
        const content = d.file === 'fuzz.conf' ? text : tree[d.file];
        const lines = content === undefined ? Infinity : content.split('\n').length;
        invariant(Number.isInteger(d.line) && d.line >= 0 && d.line <= lines, () => `a diagnostic at ${d.file}:${d.line}, outside the file (${lines} lines)`);
      }
      return r.errors.length > 0 ? `errors:${Math.min(r.errors.length, 3)}` : `ok:warnings:${Math.min(r.warnings.length, 3)}`;
    },
  };
}

export const chronyConfTarget = configTarget('chrony');
export const ntpConfTarget = configTarget('ntp');
