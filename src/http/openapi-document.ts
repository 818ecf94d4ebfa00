/**
 * Finishes the OpenAPI 3.1 document hono-openapi generates from the routes:
 * the server it is served from (`PUBLIC_URL`), every problem type each
 * operation can answer (RFC 9457, grouped by status), `Idempotency-Key` on
 * every write that honours it, the pages' own answers, and request examples
 * that run as they are against a fresh tenant with the topics the README
 * defines (`tips`, `orders`) — test/http/openapi.test.ts posts each one.
 */
import { PROBLEMS, type ProblemType } from "../problems.js";

/** Marks an operation whose middleware honours `Idempotency-Key` (idempotency.ts). */
export const IDEMPOTENT = "x-grounds-idempotent";

type Json = Record<string, unknown>;
interface Operation extends Json {
  parameters?: Json[];
  requestBody?: { content?: Record<string, Json> };
  responses?: Record<string, Json>;
  security?: unknown[];
  [IDEMPOTENT]?: boolean;
}
interface Document extends Json {
  paths?: Record<string, Record<string, Operation>>;
}

/** What a JSON body can fail with before any route code runs. */
const BODY_PROBLEMS: readonly ProblemType[] = ["invalid-json", "payload-too-large"];
/** What evidence writes refuse (time bounds, topics, erasure). */
const EVIDENCE_PROBLEMS: readonly ProblemType[] = [
  ...BODY_PROBLEMS,
  "unknown-topic",
  "evidence-predates-erasure",
];
/** Evidence dated by the caller: more than 5 minutes ahead or before 1990 is refused (docs/design.md §2). */
const DATED_EVIDENCE_PROBLEMS: readonly ProblemType[] = [...EVIDENCE_PROBLEMS, "implausible-time"];
/** What a send refuses before anything is written (docs/design.md §4). */
const SEND_PROBLEMS: readonly ProblemType[] = [
  ...BODY_PROBLEMS,
  "unknown-topic",
  "header-injection",
  "reserved-header",
  "unverified-sender-domain",
  "sender-identity-missing",
  "unknown-template",
  "template-topic-mismatch",
  "invalid-template-data",
  "message-content-missing",
];

/**
 * The problem types of each operation beyond `invalid-request`,
 * `unauthenticated`/`forbidden` (secured operations), the idempotency
 * problems (writes that honour `Idempotency-Key`), `storage-unavailable`
 * and `internal`, which every operation may answer.
 */
const OPERATION_PROBLEMS: Readonly<Record<string, readonly ProblemType[]>> = {
  "post /v1/tenants": BODY_PROBLEMS,
  "post /v1/keys": BODY_PROBLEMS,
  "post /v1/topics": [...BODY_PROBLEMS, "topic-exists"],
  "patch /v1/settings": [...BODY_PROBLEMS, "unknown-topic"],
  "post /v1/consents": [...DATED_EVIDENCE_PROBLEMS, "not-a-marketing-topic"],
  "post /v1/customers": DATED_EVIDENCE_PROBLEMS,
  "post /v1/engagements": DATED_EVIDENCE_PROBLEMS,
  "post /v1/objections": DATED_EVIDENCE_PROBLEMS,
  "post /v1/suppressions": DATED_EVIDENCE_PROBLEMS,
  "put /v1/subjects/{email}": EVIDENCE_PROBLEMS,
  "delete /v1/suppressions/{email}/{reason}": ["suppression-not-found", "suppression-not-liftable"],
  "post /v1/subscriptions": [
    ...EVIDENCE_PROBLEMS,
    "not-a-marketing-topic",
    "subscription-throttled",
  ],
  "post /v1/imports": ["payload-too-large", "unknown-topic", "not-a-marketing-topic"],
  "get /v1/imports/{id}": ["not-found"],
  "get /v1/subjects/{email}/decision": ["topic-not-found"],
  "post /v1/messages": SEND_PROBLEMS,
  "post /v3/mail/send": SEND_PROBLEMS,
  "post /webhooks/sendgrid/{tenant}": [
    "not-found",
    "invalid-signature",
    "stale-webhook",
    "invalid-json",
    "payload-too-large",
  ],
  "get /problems/{type}": ["not-found"],
};

/** Pages answer HTML, never problem+json; these are their answers besides success. */
const PAGE_ANSWERS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  "get /u/{token}": {
    404: "The link is not genuine (the same page whatever the reason)",
    429: "Too many requests from this client or for this link",
  },
  "post /u/{token}": {
    404: "The link is not genuine",
    429: "Too many requests from this client or for this link",
  },
  "get /c/{token}": {
    404: "The link is not genuine",
    410: "The link has expired",
    429: "Too many requests",
  },
  "post /c/{token}": {
    404: "The link is not genuine",
    410: "The link has expired",
    429: "Too many requests",
  },
  "post /dashboard/sign-in": {
    403: "The form expired or came from another site, or the key was not accepted: the sign-in page again",
  },
};

const EMAIL = "jana.novak@example.cz";
const CONSENT_SOURCE = {
  method: "web-form",
  url: "https://optika.example/newsletter",
  ip: "203.0.113.77",
};

/**
 * Request bodies that run as they are: against a tenant created by the
 * `POST /v1/tenants` example (domain `optika.example`), after `POST
 * /v1/topics` defined `tips` (and a service topic `orders`).
 */
export const EXAMPLES: Readonly<Record<string, unknown>> = {
  "post /v1/tenants": {
    name: "Optika",
    legalName: "Optika Praha s.r.o.",
    address: "Vodičkova 1, 110 00 Praha 1",
    registrationId: "CZ12345678",
    contactEmail: "privacy@optika.example",
    domains: ["optika.example"],
    country: "CZ",
    mode: "jurisdictional",
  },
  "post /v1/keys": { scopes: ["send", "evidence:write"] },
  "post /v1/topics": {
    id: "tips",
    name: "Tips for your glasses",
    description: "A monthly letter on caring for your glasses.",
    class: "marketing",
    categories: ["accessories"],
    translations: {
      cs: { name: "Tipy pro vaše brýle", description: "Měsíční dopis o péči o brýle." },
    },
  },
  "post /v1/consents": {
    email: EMAIL,
    topics: ["tips"],
    action: "grant",
    collectedAt: "2026-10-01T10:00:00Z",
    source: CONSENT_SOURCE,
    wording: {
      version: "2026-10",
      text: "Send me tips for my glasses. I can unsubscribe at any time.",
    },
  },
  "post /v1/customers": {
    email: EMAIL,
    kind: "purchase",
    since: "2026-09-01T09:00:00Z",
    lastPurchaseAt: "2026-09-20T15:30:00Z",
    categories: ["accessories"],
    optOutOfferedAt: "2026-09-01T09:00:00Z",
  },
  "post /v1/engagements": { email: EMAIL, kind: "click", at: "2026-10-15T08:00:00Z" },
  "put /v1/subjects/{email}": { country: "CZ", subscriberType: "individual" },
  "post /v1/subscriptions": {
    email: "petr.svoboda@example.cz",
    topics: ["tips"],
    source: { ...CONSENT_SOURCE, method: "double-opt-in" },
    wording: { version: "2026-10", text: "Send me tips for my glasses." },
  },
  "post /v1/messages": {
    topic: "tips",
    from: { email: "news@optika.example", name: "Optika" },
    subject: "Caring for your glasses",
    html: "<p>Clean them with a soft cloth.</p>",
    recipients: [{ email: EMAIL }, { email: "someone@example.cz" }],
  },
  "post /v3/mail/send": {
    personalizations: [{ to: [{ email: EMAIL }] }],
    from: { email: "news@optika.example", name: "Optika" },
    subject: "Caring for your glasses",
    content: [{ type: "text/html", value: "<p>Clean them with a soft cloth.</p>" }],
    custom_args: { topic: "tips" },
  },
  "post /v1/objections": {
    email: "someone@example.cz",
    topics: ["*"],
    channel: "email",
    receivedAt: "2026-10-20T12:00:00Z",
    note: "Asked by reply to stop all newsletters.",
  },
  "post /v1/suppressions": {
    email: "bounced@example.cz",
    reason: "hard-bounce",
  },
  "patch /v1/settings": { retention: { consentLifetimeMonths: 24 } },
  // The operator's: `{id}` is the tenant the `POST /v1/tenants` example created.
  "patch /v1/tenants/{id}/settings": { retention: { proofDays: 365 } },
};

/** The order the examples run in (each may rest on the ones before it). */
export const EXAMPLE_ORDER: readonly string[] = Object.keys(EXAMPLES);

const IDEMPOTENCY_KEY_PARAMETER = {
  in: "header",
  name: "Idempotency-Key",
  required: false,
  description:
    "Any unique string (1–255 characters), e.g. a UUID. A retry with the same key and the same request gets the first answer again (with `Idempotent-Replayed: true`) and writes nothing twice, for 24 hours; the same key with another request is refused (`422 /problems/idempotency-key-reused`), and while the first is still running, `409 /problems/idempotency-key-in-use`.",
  schema: { type: "string", minLength: 1, maxLength: 255 },
};

function problemsOf(key: string, op: Operation): ProblemType[] {
  const found = new Set<ProblemType>(["invalid-request"]);
  // What the route itself documents (`documented({problems})`).
  for (const response of Object.values(op.responses ?? {})) {
    const description = typeof response.description === "string" ? response.description : "";
    for (const [, type] of description.matchAll(/\/problems\/([a-z-]+)/g)) {
      if (type && Object.hasOwn(PROBLEMS, type)) found.add(type as ProblemType);
    }
  }
  if (op.security) for (const p of ["unauthenticated", "forbidden"] as const) found.add(p);
  if (op[IDEMPOTENT]) {
    for (const p of ["idempotency-key-in-use", "idempotency-key-reused"] as const) found.add(p);
  }
  for (const p of OPERATION_PROBLEMS[key] ?? []) found.add(p);
  // Storage that takes no write now (read-only, full, locked): any operation, with Retry-After.
  found.add("storage-unavailable");
  found.add("internal");
  return [...found];
}

/** The generated document, finished (see the file's comment). */
export function finishDocument(generated: object, options: { publicUrl: string }): Document {
  // A copy of plain JSON: what is served, and what this changes.
  const doc: Document = JSON.parse(JSON.stringify(generated));
  doc.servers = [{ url: options.publicUrl, description: "This gateway (`PUBLIC_URL`)" }];
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const [method, op] of Object.entries(item)) {
      const key = `${method} ${path}`;
      const responses = op.responses ?? {};
      const pageAnswers = PAGE_ANSWERS[key];
      if (pageAnswers) {
        for (const [status, description] of Object.entries(pageAnswers)) {
          responses[status] = {
            description,
            content: { "text/html": { schema: { type: "string" } } },
          };
        }
      }
      // Every documented operation has a 400 problem; its content is the problem schema.
      const problemContent = responses["400"]?.content;
      if (problemContent && !pageAnswers) {
        const byStatus = new Map<number, ProblemType[]>();
        for (const p of problemsOf(key, op)) {
          const status = PROBLEMS[p].status;
          byStatus.set(status, [...(byStatus.get(status) ?? []), p]);
        }
        for (const [status, types] of byStatus) {
          responses[String(status)] = {
            description: types.map((t) => `\`/problems/${t}\`: ${PROBLEMS[t].title}`).join("; "),
            content: problemContent,
          };
        }
      }
      op.responses = responses;
      if (op[IDEMPOTENT]) {
        op.parameters = [...(op.parameters ?? []), IDEMPOTENCY_KEY_PARAMETER];
      }
      delete op[IDEMPOTENT];
      const example = EXAMPLES[key];
      const json = op.requestBody?.content?.["application/json"];
      if (example !== undefined && json) json.example = example;
    }
  }
  return doc;
}
