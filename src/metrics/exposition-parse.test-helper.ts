/**
 * A small parser of the Prometheus text exposition (version 0.0.4) for the
 * tests: samples with their labels, and each family's TYPE. Written here so
 * the tests check prom-client's output against the format, not against
 * prom-client's own reading of it.
 */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface Exposition {
  readonly samples: readonly Sample[];
  readonly types: ReadonlyMap<string, string>;
  /** Samples of `name` whose labels include all of `labels`. */
  find(name: string, labels?: Readonly<Record<string, string>>): Sample[];
  /** The one sample of `name` with `labels`; throws unless exactly one. */
  value(name: string, labels?: Readonly<Record<string, string>>): number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)/y;

export function parseExposition(text: string): Exposition {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const [i, line] of text.split('\n').entries()) {
    if (line === '') continue;
    if (line.startsWith('# TYPE ')) {
      const [, , name, type] = line.split(' ');
      types.set(name as string, type as string);
      continue;
    }
    if (line.startsWith('#')) continue;
    const m = SAMPLE.exec(line);
    if (m === null) throw new Error(`Cannot parse exposition line ${i + 1}: current value is ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    const body = m[2] ?? '';
    LABEL.lastIndex = 0;
    while (LABEL.lastIndex < body.length) {
      const l = LABEL.exec(body);
      if (l === null) throw new Error(`Cannot parse labels on line ${i + 1}: current value is ${JSON.stringify(body)}`);
      labels[l[1] as string] = (l[2] as string).replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    }
    const raw = m[3] as string;
    const value = raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : Number(raw);
    // Prometheus reads values with Go's ParseFloat, which takes "NaN" in any case (prom-client writes "Nan").
    if (Number.isNaN(value) && raw.toLowerCase() !== 'nan') throw new Error(`Cannot parse value on line ${i + 1}: current value is ${raw}`);
    samples.push({ name: m[1] as string, labels, value });
  }
  const find = (name: string, labels: Readonly<Record<string, string>> = {}): Sample[] =>
    samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  return {
    samples, types, find,
    value(name, labels = {}) {
      const f = find(name, labels);
      if (f.length !== 1) throw new Error(`Expected one sample of ${name} ${JSON.stringify(labels)}, found ${f.length}`);
      return (f[0] as Sample).value;
    },
  };
}
