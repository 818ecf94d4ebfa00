import { type ChainBreak, link, verifyChain } from "./chain.js";

/**
 * The evidence chain (docs/design.md §6; written down for auditors in
 * docs/proof-log.md, "The evidence chain"): each tenant's evidence events
 * are chained like its justifications, so a changed, removed or reordered
 * event is detected even when no justification cites it.
 *
 * The hashed content is the event's non-erasable part. It commits to the
 * keyed hash of the address (`subject`), never the address, and leaves out
 * the personal part (IP, user agent, source URL, notes), so erasure (GDPR
 * Art. 17) can remove those and the chain still verifies.
 */

/** What of an evidence event the chain commits to, as stored. */
export interface ChainedEvidenceFields {
  id: string;
  tenantId: string;
  subjectKey: string;
  kind: string;
  topic: string | null;
  occurredAt: number;
  recordedAt: number;
  data: Record<string, unknown>;
}

/** An evidence event's place in the chain. */
export interface EvidenceLink {
  seq: number;
  prevHash: string;
  hash: string;
}

/** The content before it is linked (no `seq`, no `prev`). */
function unlinkedContent(row: ChainedEvidenceFields) {
  return {
    v: 1,
    chain: "evidence",
    tenant: row.tenantId,
    id: row.id,
    kind: row.kind,
    topic: row.topic,
    subject: row.subjectKey,
    occurredAt: row.occurredAt,
    recordedAt: row.recordedAt,
    data: row.data,
  };
}

/** The hashed content of a linked evidence event (docs/proof-log.md). */
export function evidenceChainContent(
  row: ChainedEvidenceFields & Pick<EvidenceLink, "seq" | "prevHash">,
) {
  return { ...unlinkedContent(row), seq: row.seq, prev: row.prevHash };
}

/**
 * Links evidence events onto a tenant's evidence chain whose head is
 * (`seq`, `hash`), in the order given: numbers them, gives each its
 * predecessor's hash and its own.
 */
export function linkEvidence<T extends ChainedEvidenceFields>(
  head: { seq: number; hash: string },
  rows: readonly T[],
): (T & EvidenceLink)[] {
  const linked = link(head, rows.map(unlinkedContent));
  return rows.map((row, i) => {
    const { seq, prev, hash } = linked[i] as (typeof linked)[number];
    return { ...row, seq, prevHash: prev, hash };
  });
}

/**
 * Verifies stored evidence rows in seq order from a known point (the
 * genesis, or a checkpoint); the first break, or null.
 */
export function verifyEvidenceChain(
  start: { seq: number; hash: string },
  rows: Iterable<ChainedEvidenceFields & EvidenceLink>,
): ChainBreak | null {
  return verifyChain(
    start,
    mapIterable(rows, (row) => ({ ...evidenceChainContent(row), hash: row.hash })),
  );
}

function* mapIterable<T, U>(items: Iterable<T>, map: (item: T) => U): Iterable<U> {
  for (const item of items) yield map(item);
}
