/**
 * Text forms of IP addresses, parsed without node:net so the pure layer can
 * build reference ids (RFC 5905 §7.3) from configured or resolved addresses.
 */

/** The 4 octets of a dotted-quad IPv4 address, or null if `text` is not one. */
export function parseIPv4(text: string): Uint8Array | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i] as string;
    // Leading zeros are refused, as inet_pton does: "010" could mean octal.
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return null;
    const n = Number(p);
    if (n > 255) return null;
    out[i] = n;
  }
  return out;
}

function parseGroups(part: string, allowIPv4Tail: boolean): number[] | null {
  if (part === '') return [];
  const groups: number[] = [];
  const items = part.split(':');
  for (let i = 0; i < items.length; i++) {
    const g = items[i] as string;
    if (allowIPv4Tail && i === items.length - 1 && g.includes('.')) {
      const v4 = parseIPv4(g);
      if (!v4) return null;
      groups.push(((v4[0] as number) << 8) | (v4[1] as number), ((v4[2] as number) << 8) | (v4[3] as number));
    } else {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
      groups.push(parseInt(g, 16));
    }
  }
  return groups;
}

/**
 * The 16 octets of an IPv6 address in RFC 4291 §2.2 text form ("::"
 * compression, an embedded dotted-quad tail), or null. A zone suffix
 * ("%eth0") is accepted and dropped: it is not part of the address.
 */
export function parseIPv6(text: string): Uint8Array | null {
  let s = text;
  const pct = s.indexOf('%');
  if (pct >= 0) {
    if (pct === s.length - 1) return null;
    s = s.slice(0, pct);
  }
  const dbl = s.indexOf('::');
  let groups: number[];
  if (dbl < 0) {
    const all = parseGroups(s, true);
    if (!all || all.length !== 8) return null;
    groups = all;
  } else {
    if (s.indexOf('::', dbl + 1) >= 0) return null;
    const head = parseGroups(s.slice(0, dbl), false);
    const tail = parseGroups(s.slice(dbl + 2), true);
    if (!head || !tail || head.length + tail.length > 7) return null;
    groups = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  }
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}
