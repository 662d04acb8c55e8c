/** `ntpkit peers`: the daemon's sources in the columns of `ntpq -p`. */
import type { Command } from 'commander';
import type { Io } from './io.js';
import { formatPeers, TALLY } from './peers-format.js';
import { reportCommand } from './report-command.js';

export const PEERS_JSON_SCHEMA = 'ntpkit.peers/1';

export function peersCommand(io: Io): Command {
  return reportCommand(io, {
    name: 'peers',
    description: 'show the sources in the columns of ntpq -p (tally code, remote, refid, st, t, when, poll, reach, delay, offset, jitter)',
    text: formatPeers,
    schema: PEERS_JSON_SCHEMA,
    json: (snap) => ({ peers: snap.sources.map((s) => ({ tally: TALLY[s.verdict], ...s })) }),
  });
}
