/**
 * A cap on the connections one source holds at once. Every connection costs a file descriptor,
 * TLS state and buffers before any credential is checked, so without a cap one address could take
 * the descriptors every other client needs. A source is an IPv4 address, or an IPv6 /64: one host
 * is commonly given a whole /64, and counting its addresses one by one would cap nothing.
 *
 * Loopback is not exempt: a reverse proxy on the same machine would need the cap raised (or the
 * proxy's own per-client limits), and tests must be able to meet the cap.
 */
import { isIPv4, isIPv6, type Socket } from "node:net";

/** The first four groups of an IPv6 address, expanded (`2001:db8:0:0`); undefined if malformed. */
function ipv6Prefix64(address: string): string | undefined {
  const [head = "", tail, extra] = address.split("::");
  if (extra !== undefined) return undefined;
  const groups = (text: string) => (text === "" ? [] : text.split(":"));
  const left = groups(head);
  const right = groups(tail ?? "");
  // An embedded IPv4 tail (`::1.2.3.4`) takes two groups; only the first four matter here.
  const width = (parts: string[]) => parts.reduce((n, g) => n + (g.includes(".") ? 2 : 1), 0);
  const missing = 8 - width(left) - width(right);
  if (tail === undefined ? missing !== 0 : missing < 1) return undefined;
  const all = [...left, ...Array<string>(tail === undefined ? 0 : missing).fill("0"), ...right];
  return all
    .slice(0, 4)
    .map((g) => (g.includes(".") ? g : (Number.parseInt(g, 16) || 0).toString(16)))
    .join(":");
}

/** Who a connection counts against: an IPv4 address (mapped ones too), or an IPv6 /64. */
export function sourceOf(remoteAddress: string | undefined): string {
  if (remoteAddress === undefined) return "unknown";
  const address = remoteAddress.split("%")[0] ?? remoteAddress;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped?.[1] !== undefined) return mapped[1];
  if (isIPv4(address)) return address;
  if (isIPv6(address)) {
    const prefix = ipv6Prefix64(address.toLowerCase());
    if (prefix !== undefined) return `${prefix}::/64`;
  }
  return address;
}

/** Counts open connections by source; `admit` says whether one more fits. */
export class ConnectionCap {
  private readonly open = new Map<string, number>();
  private total = 0;

  constructor(readonly perSource: number) {
    if (!Number.isSafeInteger(perSource) || perSource < 1)
      throw new RangeError(`the connection cap must be a positive whole number, not ${perSource}`);
  }

  /** Counts the socket until it closes, or answers false (the caller destroys it) when over. */
  admit(socket: Socket): boolean {
    const source = sourceOf(socket.remoteAddress);
    const count = this.open.get(source) ?? 0;
    if (count >= this.perSource) return false;
    this.open.set(source, count + 1);
    this.total += 1;
    socket.once("close", () => {
      this.total -= 1;
      const left = (this.open.get(source) ?? 1) - 1;
      if (left > 0) this.open.set(source, left);
      else this.open.delete(source);
    });
    return true;
  }

  /** Connections open now. */
  get connections(): number {
    return this.total;
  }
}
