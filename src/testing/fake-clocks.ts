/**
 * A scripted pair of clocks for the hrtime calibration tests: a monotonic
 * nanosecond counter (`hr`) and a millisecond wall clock (`ms`) that is
 * `offset` ns ahead of it. Every read costs `costNs`, as a real read would,
 * and `onMsRead` lets a test step the wall clock in the middle of a calibration.
 */
const MS = 1_000_000n;

export class FakeClocks {
  msReads = 0;
  onMsRead: (n: number) => void = () => {};

  constructor(public mono: bigint, public offset: bigint, public costNs: bigint) {}

  readonly hr = (): bigint => (this.mono += this.costNs);

  readonly ms = (): number => {
    this.onMsRead(++this.msReads);
    this.mono += this.costNs;
    return Number((this.mono + this.offset) / MS);
  };

  /** Real time now, without spending a read. */
  get realNs(): bigint {
    return this.mono + this.offset;
  }
}
