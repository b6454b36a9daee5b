// Who is one party, for per-peer caps (connections, sockets, pending invoices): a host may pick any
// address of its IPv6 /64 (RFC 4291 §2.5.4's interface identifier, SLAAC's privacy addresses), so a cap
// per IPv6 address would be no cap.

/**
 * The address block one party is taken to hold, for per-peer caps: an IPv4 address (IPv4-mapped IPv6
 * included), or an IPv6 address's /64 (one site's usual assignment: a host picks any address in it).
 */
export function addressBlock(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1] as string;
  if (!address.includes(':')) return address;
  const [head = '', tail] = address.toLowerCase().split('%')[0]!.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? left : [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}

/** Open sockets per party (an addressBlock), counted from accept until each closes: the per-peer caps' one tally. */
export class PeerCount {
  private readonly open = new Map<string, number>();

  /** Sockets `peer` holds now. */
  of(peer: string): number {
    return this.open.get(peer) ?? 0;
  }

  /** Counts `socket` against `peer` until it closes. */
  hold(peer: string, socket: { once(event: 'close', listener: () => void): unknown }): void {
    this.open.set(peer, this.of(peer) + 1);
    socket.once('close', () => {
      const left = this.of(peer) - 1;
      if (left > 0) this.open.set(peer, left); else this.open.delete(peer);
    });
  }
}
