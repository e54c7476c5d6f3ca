/**
 * `audit verify`: walks the audit log's hash chain in append order, a page at a time, and names the
 * first entry that does not follow from the one before it (src/catalog/audit-chain.ts), or the
 * recorded head it no longer holds.
 */
import type { AuditCatalog, ChainedAuditEntry } from "../../catalog/audit.js";
import {
  type ChainBreak,
  checkAnchor,
  checkLink,
  explainFault,
  type LinkFault,
} from "../../catalog/audit-chain.js";
import { RempartError } from "../../errors.js";

const PAGE = 1000;

export interface AuditHead {
  readonly seq: number;
  readonly hash: string;
}

export interface AuditVerification {
  /** Entries read. */
  readonly entries: number;
  /** The last entry: record it elsewhere to detect later truncation or rewriting. */
  readonly head: AuditHead | null;
  readonly broken: ChainBreak | null;
}

/** `SEQ:HASH`, as `audit verify` prints a head. */
export function parseAnchor(text: string): AuditHead {
  const match = /^([1-9][0-9]{0,15}):([0-9a-f]{64})$/.exec(text.trim());
  if (match === null)
    throw new RempartError(
      "InvalidArgument",
      `--anchor wants SEQ:HASH as audit verify prints the head (e.g. 1234:9f86d0…), not ${JSON.stringify(text)}`,
    );
  return { seq: Number(match[1]), hash: match[2] as string };
}

async function* pages(catalog: AuditCatalog, afterId: number): AsyncGenerator<ChainedAuditEntry> {
  let cursor = afterId;
  for (;;) {
    const page = await catalog.readAuditChain({ afterId: cursor, limit: PAGE });
    yield* page;
    const last = page.at(-1);
    if (last === undefined || page.length < PAGE) return;
    cursor = last.id;
  }
}

/** What follows a fault, to tell a moved entry from a removed or rewritten one. */
async function laterEntries(catalog: AuditCatalog, afterId: number) {
  const seqs = new Set<number>();
  const hashes = new Set<string>();
  for await (const entry of pages(catalog, afterId)) {
    seqs.add(entry.seq);
    hashes.add(entry.hash);
  }
  return { hasSeq: (seq: number) => seqs.has(seq), hasHash: (hash: string) => hashes.has(hash) };
}

export async function verifyAuditChain(
  catalog: AuditCatalog,
  anchor?: AuditHead,
): Promise<AuditVerification> {
  let previous: ChainedAuditEntry | null = null;
  let entries = 0;
  let anchored: ChainedAuditEntry | undefined;
  for await (const entry of pages(catalog, 0)) {
    entries += 1;
    const fault: LinkFault | null = checkLink(previous, entry);
    if (fault !== null) {
      const later = await laterEntries(catalog, entry.id);
      return { entries, head: null, broken: explainFault(fault, previous, entry, later) };
    }
    if (entry.seq === anchor?.seq) anchored = entry;
    previous = entry;
  }
  const head = previous === null ? null : { seq: previous.seq, hash: previous.hash };
  const broken = anchor === undefined ? null : checkAnchor(anchor, anchored);
  return { entries, head, broken };
}
