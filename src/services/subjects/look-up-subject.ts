import { and, desc, eq } from "drizzle-orm";
import { justifications, subjects } from "../../db/schema.js";
import type { Deps } from "../deps.js";
import {
  type EvidenceRecord,
  evidenceHistory,
  type JustificationView,
  justificationView,
} from "./access.js";

export type { JustificationView };

/** At most this many justifications are shown at once, newest first. */
const SHOWN = 200;

export interface SubjectLookup {
  subjectKey: string;
  facts: {
    email: string | null;
    country: string | null;
    subscriberType: string | null;
    birthYear: number | null;
    ageVerified: boolean | null;
  } | null;
  /** Oldest first, with the hash each justification cites it by. */
  evidence: EvidenceRecord[];
  /** Newest first; at most SHOWN. */
  justifications: JustificationView[];
  /** Whether there are older justifications than those shown. */
  more: boolean;
}

/**
 * What compliance staff look at to answer "why did this person get this
 * message?": the subject's evidence timeline and every justification
 * written about them — decision, basis, reasons, rule set, rule trace and
 * the evidence each rested on. A look-up by staff is not a data-subject
 * access request (GDPR Art. 15): unlike `accessSubject`, it records none;
 * staff register one explicitly when the person asked.
 */
export async function lookUpSubject(
  deps: Deps,
  tenantId: string,
  email: string,
): Promise<SubjectLookup> {
  const history = await evidenceHistory(deps, tenantId, email);
  const [facts, rows] = await Promise.all([
    deps.db.query.subjects.findFirst({
      where: and(eq(subjects.tenantId, tenantId), eq(subjects.subjectKey, history.subject)),
    }),
    deps.db
      .select()
      .from(justifications)
      .where(
        and(eq(justifications.tenantId, tenantId), eq(justifications.subjectKey, history.subject)),
      )
      .orderBy(desc(justifications.decidedAt), desc(justifications.seq))
      .limit(SHOWN + 1),
  ]);
  return {
    subjectKey: history.subject,
    facts: facts
      ? {
          email: facts.email,
          country: facts.country,
          subscriberType: facts.subscriberType,
          birthYear: facts.birthYear,
          ageVerified: facts.ageVerified,
        }
      : null,
    evidence: history.evidence,
    justifications: rows.slice(0, SHOWN).map(justificationView),
    more: rows.length > SHOWN,
  };
}
