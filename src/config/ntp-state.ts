/** What ntp.conf parsing keeps beside the builder until the whole file is read. */
import { type ParseState } from './config-builder.js';

export interface RestrictEntry {
  /** null: `restrict default` without -4/-6 (both families). */
  subnet: string | null;
  bits: number;
  flags: Set<string>;
  file: string;
  line: number;
}

/** The restrict entries wait for the whole file, since their order does not matter in ntpd. */
export interface NtpParseState extends ParseState {
  readonly restricts: Map<string, RestrictEntry>;
  discardAverage: number;
  mainFile: string;
}
