/**
 * IP addresses are kept only anonymised (docs/design.md §2): IPv4 truncated to its /24,
 * IPv6 to its /48. That still shows which network a consent came from, which
 * is what a regulator asks, without identifying the device.
 */

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

export function anonymiseIp(raw: string): string | null {
  const ip = raw.trim();
  const v4 = IPV4.exec(ip);
  if (v4) {
    const octets = v4.slice(1, 5).map(Number);
    if (octets.some((o) => o > 255)) return null;
    return `${octets[0]}.${octets[1]}.${octets[2]}.0`;
  }
  const groups = expandIpv6(ip);
  if (!groups) return null;
  // An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is an IPv4 address.
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    const hi = groups[6] ?? 0;
    return `${hi >> 8}.${hi & 0xff}.${(groups[7] ?? 0) >> 8}.0`;
  }
  return formatIpv6([...groups.slice(0, 3), 0, 0, 0, 0, 0]);
}

/** The canonical text form of an IPv6 address (RFC 5952 §4). */
function formatIpv6(groups: number[]): string {
  // The longest run of two or more zero groups (the first, on a tie) becomes "::".
  let best = { start: -1, length: 0 };
  for (let i = 0; i < groups.length; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < groups.length && groups[j] === 0) j++;
    if (j - i > best.length) best = { start: i, length: j - i };
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best.length < 2) return hex.join(":");
  const head = hex.slice(0, best.start).join(":");
  const tail = hex.slice(best.start + best.length).join(":");
  return `${head}::${tail}`;
}

/** Eight 16-bit groups of an IPv6 address, or null when it is not one. */
function expandIpv6(ip: string): number[] | null {
  let text = ip.replace(/^\[|\]$/g, "").replace(/%.*$/, "");
  // An embedded dotted IPv4 tail becomes two hex groups.
  const tail = /(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (tail) {
    const o = tail.slice(1, 5).map(Number);
    if (o.some((x) => x > 255)) return null;
    const a = o[0] ?? 0;
    const b = o[1] ?? 0;
    const c = o[2] ?? 0;
    const d = o[3] ?? 0;
    text = `${text.slice(0, tail.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const parse = (part: string | undefined): number[] | null => {
    if (!part) return [];
    const out: number[] = [];
    for (const group of part.split(":")) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(group)) return null;
      out.push(Number.parseInt(group, 16));
    }
    return out;
  };
  const head = parse(halves[0]);
  const rest = parse(halves[1]);
  if (!head || !rest) return null;
  if (halves.length === 1) return head.length === 8 ? head : null;
  const missing = 8 - head.length - rest.length;
  if (missing < 1) return null;
  return [...head, ...new Array<number>(missing).fill(0), ...rest];
}
