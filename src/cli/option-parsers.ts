/** Argument parsers for commander options, shared by the commands: each names its option in its error. */
import { InvalidArgumentError } from 'commander';

export function positiveNumber(name: string, max = Infinity) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0 || n > max) throw new InvalidArgumentError(`${name} must be a number greater than 0${max < Infinity ? ` and at most ${max}` : ''}, got "${v}"`);
    return n;
  };
}

export function nonNegativeNumber(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`${name} must be a number of seconds >= 0, got "${v}"`);
    return n;
  };
}

export function integerIn(name: string, lo: number, hi: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < lo || n > hi) throw new InvalidArgumentError(`${name} must be an integer from ${lo} to ${hi}, got "${v}"`);
    return n;
  };
}

export function finiteNumber(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`${name} must be a number, got "${v}"`);
    return n;
  };
}
