/**
 * Files a config pulls in (chrony's include, confdir and sourcedir, ntpd's
 * includefile), read in place, and the drift file.
 */
import { describeError } from '../bounded-read.js';
import { errorAt, includeFiles, oneValue, recordOrigin, warnAt } from '../config-builder.js';
import { type Directive, implemented } from '../directive.js';
import { confdirFiles, expandGlob, MAX_CONFDIRS } from '../include.js';
import { oneArg } from '../line-args.js';

export const FILE_DIRECTIVES: readonly Directive[] = [
  {
    chrony: {
      names: ['include'],
      grammar: 'PATTERN',
      status: implemented((s, l, ctx) => {
        const pattern = oneArg(s, l, 'one file name or glob pattern');
        if (pattern === null) return;
        const listDir = s.access.listDir;
        let paths: string[];
        try {
          paths = listDir ? expandGlob(pattern, listDir) : [pattern];
        } catch (e) {
          errorAt(s, l, `include: cannot list files for ${pattern}: ${describeError(e)}`);
          return;
        }
        // chrony.conf(5): "at least one file is required to exist".
        if (paths.length === 0) { errorAt(s, l, `include: no file matches ${pattern}`); return; }
        includeFiles(s, l, paths, ctx.depth, (text, file) => ctx.parseFile(text, file, ctx.onlySources));
      }),
    },
    field: 'files',
    consumer: null,
    default: 'none',
    doc: 'A glob(3) pattern, read in place and sorted. At least one file must match.',
  },
  {
    chrony: {
      names: ['confdir', 'sourcedir'],
      grammar: 'DIR...',
      status: implemented((s, l, ctx) => {
        const a = l.args;
        const d = l.directive;
        if (a.length < 1 || a.length > MAX_CONFDIRS) { errorAt(s, l, `${d}: expected 1 to ${MAX_CONFDIRS} directories, got ${a.length}`); return; }
        const listDir = s.access.listDir;
        if (!listDir) { errorAt(s, l, `${d}: cannot list directories here (no file access given)`); return; }
        let paths: string[];
        try {
          paths = confdirFiles(a, d === 'confdir' ? '.conf' : '.sources', listDir);
        } catch (e) {
          errorAt(s, l, `${d}: cannot list ${a.join(' ')}: ${describeError(e)}`);
          return;
        }
        const onlySources = d === 'sourcedir';
        includeFiles(s, l, paths, ctx.depth, (text, file) => ctx.parseFile(text, file, onlySources));
      }),
    },
    field: 'files',
    consumer: null,
    default: 'none',
    doc: `The \`*.conf\` (confdir) or \`*.sources\` (sourcedir) files of up to ${MAX_CONFDIRS} directories, read in place and sorted by name; the first directory wins a name, and a missing directory is skipped. A sourcedir file may hold only \`server\`, \`pool\`, \`peer\` and \`refclock\`.`,
  },
  {
    ntp: {
      names: ['includefile'],
      grammar: 'FILE',
      status: implemented((s, l, ctx) => {
        const p = oneArg(s, l, 'one file name');
        if (p !== null) includeFiles(s, l, [p], ctx.depth, (text, file) => ctx.parseFile(text, file, false));
      }),
    },
    field: 'files',
    consumer: null,
    default: 'none',
    doc: 'Read in place.',
  },
  {
    chrony: {
      names: ['driftfile'],
      grammar: 'FILE',
      status: implemented(oneValue('one file name', (s, f) => { s.b.driftfile = f; })),
    },
    ntp: {
      names: ['driftfile'],
      grammar: 'FILE [MINUTES [TOLERANCE]]',
      status: implemented((s, l) => {
        // ntpd 4.2.8: the write interval and the change threshold follow the name.
        const a = l.args;
        if (a.length < 1 || a.length > 3) { errorAt(s, l, `driftfile: expected a file name, got "${a.join(' ')}"`); return; }
        s.b.driftfile = a[0] as string;
        recordOrigin(s, l, 'driftfile');
        if (a.length > 1) warnAt(s, l, 'driftfile: the write interval and tolerance are not implemented by ntpkit, ignored');
      }),
    },
    origin: true,
    field: 'driftfile',
    consumer: 'src/daemon/daemon-drift.ts',
    default: 'none',
    doc: 'chronyd\'s format, written atomically (a temp file, fsync, rename), every hour and when the daemon stops. `Saved frequency ... to FILE` is logged only when the write landed, else `Cannot write drift file FILE: ...`. At start the clock takes the file\'s frequency, but the estimate trusts it to no better than 30 ppm whatever skew it records, and drops it when the samples disagree, so a stale file (a migrated VM) gives way within a few polls. Without a file the kernel\'s frequency in force is the start, trusted not at all. ntp.conf: the extra arguments give a warning.',
  },
];
