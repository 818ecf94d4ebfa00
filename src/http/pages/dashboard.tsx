/**
 * The compliance workbench (docs/design.md §5 `/dashboard`): server-rendered pages
 * with no script, in the staff layout (staff-layout.tsx). Each form carries
 * the session's CSRF token; a person's address travels in a POST body, never
 * in a URL (URLs end up in logs and histories).
 */
import type { Child } from "hono/jsx";
import type { LogState } from "../../services/dashboard/log-state.js";
import type { MessageView } from "../../services/dashboard/message-view.js";
import type { DashboardStats } from "../../services/dashboard/stats.js";
import type { IntegrityReport } from "../../services/proofs/verify-integrity.js";
import type { EvidenceRecord } from "../../services/subjects/access.js";
import type { DsrRequestView } from "../../services/subjects/dsr-requests.js";
import type { JustificationView, SubjectLookup } from "../../services/subjects/look-up-subject.js";
import { RateBars, StackedBars, Swatch } from "./charts.js";
import { StaffPage } from "./staff-layout.js";

export { STAFF_PAGE_HEADERS as DASHBOARD_HEADERS } from "./staff-layout.js";

/** Gmail's and Yahoo's 2024 bulk-sender rules: keep the spam rate below 0.3%. */
export const COMPLAINT_RATE_LIMIT = 0.003;

type Where = "overview" | "subject" | "message" | "log";

function Workbench(props: {
  title: string;
  brand: string;
  csrf: string;
  where: Where;
  children?: Child;
}) {
  const nav = [
    { href: "/dashboard", label: "Overview", current: props.where === "overview" },
    { href: "/dashboard/subject", label: "Look up a person", current: props.where === "subject" },
    { href: "/dashboard/log", label: "Proof log", current: props.where === "log" },
  ];
  return (
    <StaffPage title={props.title} brand={props.brand} nav={nav}>
      {props.children}
      <section aria-label="Session">
        <form method="post" action="/dashboard/sign-out">
          <input type="hidden" name="csrf" value={props.csrf} />
          <button type="submit" class="secondary">
            Sign out
          </button>
        </form>
      </section>
    </StaffPage>
  );
}

export function SignInPage(props: { csrf: string; error?: string | undefined }) {
  return (
    <StaffPage title="Sign in">
      <section>
        <h1>Compliance workbench</h1>
        <p>
          Here compliance staff answer “why did this person get this message?” — a person's evidence
          and every decision taken about them, with its basis, reasons and rule trace — follow a
          message, export the proof log by period, topic and decision, check that the log was not
          altered, and keep track of data-subject requests.
        </p>
        <p>
          Sign in with an API key of your organisation that has the <code>compliance:read</code>{" "}
          scope. An administrator creates one with <code>POST /v1/keys</code> (
          <code>{'{"scopes":["compliance:read"]}'}</code>) or{" "}
          <code>npx grounds key create --tenant … --scope compliance:read</code>. The key is not
          kept in your browser: the session cookie names the key's id, lasts 8 hours, and ends at
          once if the key is revoked.
        </p>
        {props.error ? (
          <p class="error" role="alert">
            {props.error}
          </p>
        ) : null}
        <form method="post" action="/dashboard/sign-in">
          <input type="hidden" name="csrf" value={props.csrf} />
          <label for="key">API key (scope compliance:read)</label>
          <input id="key" name="key" type="password" autocomplete="off" required />
          <div>
            <button type="submit">Sign in</button>
          </div>
        </form>
      </section>
    </StaffPage>
  );
}

function LookUpForms(props: { csrf: string; email?: string | undefined }) {
  return (
    <section aria-labelledby="look-up">
      <h2 id="look-up">Why did this person get this message?</h2>
      <div class="row">
        <div>
          <form method="post" action="/dashboard/subject">
            <input type="hidden" name="csrf" value={props.csrf} />
            <label for="email">A person's e-mail address</label>
            <input
              id="email"
              name="email"
              type="email"
              autocomplete="off"
              required
              value={props.email}
            />
            <button type="submit">Look up</button>
          </form>
        </div>
        <div>
          <form method="get" action="/dashboard/messages">
            <label for="message-id">A message id</label>
            <input id="message-id" name="id" autocomplete="off" required />
            <button type="submit" class="secondary">
              Open message
            </button>
          </form>
        </div>
      </div>
      <p class="muted">
        Looking a person up is not a data-subject request and registers none; register one on the
        person's page when they asked (GDPR Art. 15).
      </p>
    </section>
  );
}

function RequestQueue(props: { requests: readonly DsrRequestView[]; now: number }) {
  return (
    <section aria-labelledby="requests">
      <h2 id="requests">Data-subject requests</h2>
      <p>GDPR Art. 12(3): each is answered within one month of receipt. Open ones first.</p>
      {props.requests.length === 0 ? (
        <p>No requests yet.</p>
      ) : (
        <div class="scroll">
          <table id="requests-table">
            <thead>
              <tr>
                <th scope="col">Kind</th>
                <th scope="col">Subject (keyed hash)</th>
                <th scope="col">Received</th>
                <th scope="col">Deadline</th>
                <th scope="col">Status</th>
              </tr>
            </thead>
            <tbody>
              {props.requests.map((r) => (
                <tr>
                  <td>{r.kind}</td>
                  <td>
                    <code>{r.subject.slice(0, 12)}…</code>
                  </td>
                  <td>{r.receivedAt.slice(0, 10)}</td>
                  <td
                    class={
                      r.completedAt === null && Date.parse(r.deadline) < props.now
                        ? "overdue"
                        : undefined
                    }
                  >
                    {r.deadline.slice(0, 10)}
                  </td>
                  <td>{r.completedAt === null ? "open" : `done ${r.completedAt.slice(0, 10)}`}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function Exports(props: { topics: readonly string[]; from: string; to: string }) {
  return (
    <section aria-labelledby="exports">
      <h2 id="exports">Export proofs</h2>
      <p>
        The justifications of a period, optionally of one topic or one decision — what{" "}
        <code>GET /v1/proofs</code> streams with the same filters. A file verifies offline with{" "}
        <code>npx grounds verify FILE</code>.
      </p>
      <form method="get" action="/dashboard/export">
        <div class="row">
          <div>
            <label for="export-from">From (UTC day)</label>
            <input id="export-from" name="from" type="date" value={props.from} />
          </div>
          <div>
            <label for="export-to">To (UTC day, inclusive)</label>
            <input id="export-to" name="to" type="date" value={props.to} />
          </div>
          <div>
            <label for="export-topic">Topic</label>
            <select id="export-topic" name="topic">
              <option value="">All topics</option>
              {props.topics.map((t) => (
                <option value={t}>{t}</option>
              ))}
            </select>
          </div>
          <div>
            <label for="export-decision">Decision</label>
            <select id="export-decision" name="decision">
              <option value="">Sent and suppressed</option>
              <option value="send">Sent</option>
              <option value="suppress">Suppressed</option>
            </select>
          </div>
          <div>
            <label for="export-format">Format</label>
            <select id="export-format" name="format">
              <option value="csv">CSV</option>
              <option value="ndjson">NDJSON</option>
            </select>
          </div>
        </div>
        <button type="submit">Download</button>
      </form>
    </section>
  );
}

export function DashboardPage(props: {
  brand: string;
  csrf: string;
  stats: DashboardStats;
  topics: readonly string[];
  now: number;
}) {
  const { stats } = props;
  const open = stats.requests.filter((r) => r.completedAt === null).length;
  return (
    <Workbench title="Compliance workbench" brand={props.brand} csrf={props.csrf} where="overview">
      <section>
        <h1>Compliance workbench</h1>
        <div class="totals">
          <p>
            <strong>{stats.totals.sent}</strong>
            <Swatch series="sent" />
            sent (30 days)
          </p>
          <p>
            <strong>{stats.totals.suppressed}</strong> suppressed (30 days)
          </p>
          <p>
            <strong>{open}</strong> open data-subject requests
          </p>
        </div>
      </section>
      <LookUpForms csrf={props.csrf} />
      <section aria-labelledby="decisions">
        <h2 id="decisions">Sent vs suppressed, by reason, per day</h2>
        <StackedBars
          id="decisions"
          title="Decisions per day"
          days={stats.days}
          counts={stats.decisions}
          order={["sent"]}
        />
      </section>
      <section aria-labelledby="complaint-rate">
        <h2 id="complaint-rate">Spam-complaint rate per day</h2>
        <p>
          Complaints ÷ messages sent that day. Gmail and Yahoo ask bulk senders to stay below 0.3%
          (2024 bulk-sender rules).
        </p>
        <RateBars
          id="rate"
          title="Spam-complaint rate"
          rows={stats.complaintRate}
          limit={COMPLAINT_RATE_LIMIT}
        />
      </section>
      <section aria-labelledby="complaints">
        <h2 id="complaints">Objections and complaints per day</h2>
        <StackedBars
          id="complaints"
          title="Objections and spam complaints per day"
          days={stats.days}
          counts={stats.complaints}
          order={["objection", "spam-complaint"]}
        />
      </section>
      <RequestQueue requests={stats.requests} now={props.now} />
      <Exports
        topics={props.topics}
        from={stats.days[0] ?? ""}
        to={stats.days[stats.days.length - 1] ?? ""}
      />
    </Workbench>
  );
}

/** A field of a stored JSON object (trace step, evidence reference), as text. */
function text(value: unknown, name: string): string {
  if (typeof value !== "object" || value === null || !(name in value)) return "";
  const field: unknown = Object.getOwnPropertyDescriptor(value, name)?.value;
  if (field === null || field === undefined) return "";
  return Array.isArray(field) ? field.map(String).join(", ") : String(field);
}

const when = (iso: string) => `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;

/** What an evidence event says, in a line: the channel, method or reason it carries. */
function evidenceSummary(event: EvidenceRecord): string {
  const data = event.data;
  const parts = ["method", "channel", "reason", "kind", "at"]
    .map((name) => [name, text(data, name)])
    .filter(([, v]) => v !== "")
    .map(([name, v]) => `${name} ${v}`);
  return parts.join(", ");
}

function Justification(props: { j: JustificationView; timeline: ReadonlySet<string> }) {
  const { j } = props;
  return (
    <li class={j.decision} id={`j-${j.id}`}>
      <p>
        <strong>{when(j.decidedAt)}</strong> · topic <code>{j.topic}</code> ·{" "}
        <span class={`tag ${j.decision}`}>{j.decision === "send" ? "SENT" : "SUPPRESSED"}</span>{" "}
        {j.decision === "send" ? (
          <>
            on <strong>{j.basis}</strong>
          </>
        ) : (
          j.reasons.map((r) => (
            <>
              <Swatch series={r} />
              <strong>{r}</strong>{" "}
            </>
          ))
        )}
      </p>
      <dl class="facts">
        <dt>Message</dt>
        <dd>
          <a href={`/dashboard/messages/${encodeURIComponent(j.messageId)}`}>{j.messageId}</a>
        </dd>
        <dt>Rule set</dt>
        <dd>{j.ruleSet}</dd>
        <dt>Reasons</dt>
        <dd>{j.reasons.length ? j.reasons.join(", ") : "—"}</dd>
        <dt>Delivery</dt>
        <dd>
          {j.status} ({when(j.statusAt)})
        </dd>
        <dt>Proof</dt>
        <dd>
          <span class="mono">
            #{j.seq} {j.hash.slice(0, 16)}…
          </span>
        </dd>
        {j.supersedes ? (
          <>
            <dt>Supersedes</dt>
            <dd class="mono">{j.supersedes}</dd>
          </>
        ) : null}
      </dl>
      <details>
        <summary>
          Rule trace ({j.trace.length} steps) and evidence ({j.evidence.length})
        </summary>
        <div class="scroll">
          <table>
            <caption>Rule trace</caption>
            <thead>
              <tr>
                <th scope="col">Rule</th>
                <th scope="col">Outcome</th>
                <th scope="col">What it found</th>
              </tr>
            </thead>
            <tbody>
              {j.trace.map((step) => (
                <tr>
                  <td>{text(step, "rule")}</td>
                  <td>{text(step, "outcome")}</td>
                  <td>{text(step, "detail")}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        {j.evidence.length === 0 ? (
          <p>It rested on no evidence.</p>
        ) : (
          <div class="scroll">
            <table>
              <caption>Evidence it rested on</caption>
              <thead>
                <tr>
                  <th scope="col">Kind</th>
                  <th scope="col">When</th>
                  <th scope="col">Id, hash</th>
                </tr>
              </thead>
              <tbody>
                {j.evidence.map((ref) => {
                  const id = text(ref, "id");
                  return (
                    <tr>
                      <td>{text(ref, "kind")}</td>
                      <td>{text(ref, "at")}</td>
                      <td class="mono">
                        {props.timeline.has(id) ? <a href={`#e-${id}`}>{id}</a> : id}{" "}
                        {text(ref, "hash").slice(0, 16)}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        )}
      </details>
    </li>
  );
}

export function SubjectPage(props: {
  brand: string;
  csrf: string;
  email?: string | undefined;
  lookup?: SubjectLookup | undefined;
  notice?: string | undefined;
  error?: string | undefined;
}) {
  const { lookup } = props;
  const timeline = new Set(lookup?.evidence.map((e) => e.id) ?? []);
  return (
    <Workbench title="Look up a person" brand={props.brand} csrf={props.csrf} where="subject">
      <section>
        <h1>Look up a person</h1>
        {props.notice ? (
          <p class="notice" role="status">
            {props.notice}
          </p>
        ) : null}
        {props.error ? (
          <p class="error" role="alert">
            {props.error}
          </p>
        ) : null}
      </section>
      <LookUpForms csrf={props.csrf} email={props.email} />
      {lookup ? (
        <>
          <section aria-labelledby="subject">
            <h2 id="subject">{lookup.facts?.email ?? props.email}</h2>
            <dl class="facts">
              <dt>Subject key</dt>
              <dd class="mono">{lookup.subjectKey}</dd>
              <dt>Country</dt>
              <dd>{lookup.facts?.country ?? "unknown (the tenant's default)"}</dd>
              <dt>Subscriber type</dt>
              <dd>{lookup.facts?.subscriberType ?? "unknown (individual)"}</dd>
              <dt>Evidence events</dt>
              <dd>{lookup.evidence.length}</dd>
              <dt>Decisions</dt>
              <dd>
                {lookup.justifications.length}
                {lookup.more ? " (the latest shown)" : ""}
              </dd>
            </dl>
          </section>
          <section aria-labelledby="decisions-heading">
            <h2 id="decisions-heading">Every decision about this person, newest first</h2>
            {lookup.justifications.length === 0 ? (
              <p>No message was ever decided for this address.</p>
            ) : (
              <ol class="timeline" id="justifications">
                {lookup.justifications.map((j) => (
                  <Justification j={j} timeline={timeline} />
                ))}
              </ol>
            )}
          </section>
          <section aria-labelledby="evidence-heading">
            <h2 id="evidence-heading">Evidence timeline, oldest first</h2>
            {lookup.evidence.length === 0 ? (
              <p>No evidence is held about this address.</p>
            ) : (
              <ol class="timeline" id="evidence">
                {lookup.evidence.map((e) => (
                  <li class="evidence" id={`e-${e.id}`}>
                    <p>
                      <strong>{when(e.occurredAt)}</strong> · <strong>{e.kind}</strong>
                      {e.topic ? (
                        <>
                          {" "}
                          · topic <code>{e.topic}</code>
                        </>
                      ) : null}
                    </p>
                    <p class="muted">
                      {evidenceSummary(e)}
                      {evidenceSummary(e) ? " · " : ""}recorded {when(e.recordedAt)} ·{" "}
                      <span class="mono">{e.id}</span>
                    </p>
                  </li>
                ))}
              </ol>
            )}
          </section>
          <section aria-labelledby="dsr">
            <h2 id="dsr">A data-subject request from this person</h2>
            <p>
              Only when the person asked: registers an access request (GDPR Art. 15, 20) with its
              one-month deadline, as answered, and downloads everything held about the address,
              machine-readable — the answer to give the person.
            </p>
            <form method="post" action="/dashboard/access-requests">
              <input type="hidden" name="csrf" value={props.csrf} />
              <input type="hidden" name="email" value={props.email} />
              <button type="submit" class="danger">
                Register an access request (Art. 15)
              </button>
            </form>
          </section>
        </>
      ) : null}
    </Workbench>
  );
}

function CountTable(props: { caption: string; label: string; rows: [string, number][] }) {
  return (
    <div class="scroll">
      <table>
        <caption>{props.caption}</caption>
        <thead>
          <tr>
            <th scope="col">{props.label}</th>
            <th scope="col" class="n">
              Recipients
            </th>
          </tr>
        </thead>
        <tbody>
          {props.rows.map(([name, n]) => (
            <tr>
              <th scope="row">
                <Swatch series={name} />
                {name}
              </th>
              <td class="n">{n}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function MessagePage(props: {
  brand: string;
  csrf: string;
  id: string;
  message: MessageView | null;
}) {
  const m = props.message;
  return (
    <Workbench title="Message" brand={props.brand} csrf={props.csrf} where="message">
      <section>
        <h1>Message</h1>
        {m === null ? (
          <p class="error" role="alert">
            No message of yours has this id.
          </p>
        ) : (
          <dl class="facts">
            <dt>Id</dt>
            <dd class="mono">{m.id}</dd>
            <dt>Subject</dt>
            <dd>{m.subject ?? "—"}</dd>
            <dt>Topic</dt>
            <dd>
              <code>{m.topic}</code>
            </dd>
            <dt>State</dt>
            <dd>
              <strong>{m.status}</strong>
            </dd>
            <dt>Created</dt>
            <dd>{when(m.createdAt)}</dd>
            {m.sendAt ? (
              <>
                <dt>Scheduled for</dt>
                <dd>{when(m.sendAt)}</dd>
              </>
            ) : null}
            <dt>Recipients</dt>
            <dd>
              {m.recipients}: <Swatch series="sent" />
              {m.counts.send} sent, {m.counts.suppress} suppressed
            </dd>
          </dl>
        )}
      </section>
      {m ? (
        <>
          <section aria-labelledby="why">
            <h2 id="why">Why</h2>
            <div class="pair">
              <CountTable
                caption="Suppressed, by reason"
                label="Reason"
                rows={m.reasons.map((r) => [r.reason, r.count])}
              />
              <CountTable
                caption="Sent, by basis"
                label="Basis"
                rows={m.bases.map((b) => [b.basis, b.count])}
              />
            </div>
            <p>
              <a
                class="button secondary"
                href={`/dashboard/export?format=csv&messageId=${encodeURIComponent(m.id)}`}
              >
                Download this message's proofs (CSV)
              </a>
            </p>
          </section>
          <section aria-labelledby="delivery">
            <h2 id="delivery">Delivery</h2>
            <CountTable
              caption="Recipients by delivery status"
              label="Status"
              rows={m.statuses.map((s) => [s.status, s.count])}
            />
            {m.chunks.length === 0 ? (
              <p>No delivery chunks (nothing to hand over, or not yet).</p>
            ) : (
              <div class="scroll">
                <table id="chunks">
                  <caption>Chunks (at most 1,000 recipients each)</caption>
                  <thead>
                    <tr>
                      <th scope="col" class="n">
                        Chunk
                      </th>
                      <th scope="col">State</th>
                      <th scope="col" class="n">
                        Recipients
                      </th>
                      <th scope="col" class="n">
                        Attempts
                      </th>
                      <th scope="col">Provider id, error</th>
                      <th scope="col">Updated</th>
                    </tr>
                  </thead>
                  <tbody>
                    {m.chunks.map((c) => (
                      <tr>
                        <td class="n">{c.chunk}</td>
                        <td>{c.status}</td>
                        <td class="n">{c.recipients}</td>
                        <td class="n">{c.attempts}</td>
                        <td class="mono">
                          {[c.providerMessageId, c.error].filter(Boolean).join(" ")}
                        </td>
                        <td>{when(c.updatedAt)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </section>
        </>
      ) : null}
    </Workbench>
  );
}

export function LogPage(props: {
  brand: string;
  csrf: string;
  state: LogState;
  integrity?: IntegrityReport | undefined;
}) {
  const { state, integrity } = props;
  return (
    <Workbench title="Proof log" brand={props.brand} csrf={props.csrf} where="log">
      <section>
        <h1>Proof log</h1>
        <p>
          Every justification and evidence event is an entry of your tamper-evident log. Its latest
          state is below; verifying recomputes every entry from the start and compares it with what
          is stored (<code>GET /v1/integrity</code>).
        </p>
        <div class="scroll">
          <table id="logs">
            <thead>
              <tr>
                <th scope="col">Log</th>
                <th scope="col" class="n">
                  Latest entry
                </th>
                <th scope="col">Head hash</th>
                <th scope="col">Checkpoint (after retention)</th>
              </tr>
            </thead>
            <tbody>
              {state.logs.map((log) => (
                <tr>
                  <th scope="row">{log.name}</th>
                  <td class="n">{log.head ? `#${log.head.seq}` : "empty"}</td>
                  <td class="mono">{log.head?.hash ?? "—"}</td>
                  <td>
                    {log.checkpoint
                      ? `#${log.checkpoint.seq}, ${when(log.checkpoint.at)}`
                      : "none (verified from the start)"}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <h2>Latest signed checkpoint</h2>
        {state.checkpoint ? (
          <>
            <p>
              {state.checkpoint.size} entries, signed {when(state.checkpoint.at)} (
              <code>GET /v1/log/checkpoint</code>):
            </p>
            <pre class="mono" id="checkpoint">
              {state.checkpoint.note}
            </pre>
          </>
        ) : (
          <p>None yet: the log is empty.</p>
        )}
        <p id="anchor">
          Last anchor:{" "}
          {state.lastAnchor
            ? `${when(state.lastAnchor.at)}, the checkpoint of ${state.lastAnchor.size} entries`
            : "none yet (no time-stamping authority has anchored a checkpoint; TSA_URL)"}
        </p>
        <form method="get" action="/dashboard/log">
          <input type="hidden" name="verify" value="1" />
          <button type="submit">Verify integrity now</button>
        </form>
      </section>
      {integrity ? (
        <section aria-labelledby="integrity">
          <h2 id="integrity">
            Integrity:{" "}
            <span class={integrity.ok ? "tag send" : "tag suppress"} id="integrity-result">
              {integrity.ok ? "OK" : "BROKEN"}
            </span>
          </h2>
          <div class="scroll">
            <table>
              <thead>
                <tr>
                  <th scope="col">Log</th>
                  <th scope="col" class="n">
                    Entries checked
                  </th>
                  <th scope="col">Result</th>
                </tr>
              </thead>
              <tbody>
                {integrity.chains.map((chain) => (
                  <tr>
                    <th scope="row">{chain.name}</th>
                    <td class="n">{chain.rows}</td>
                    <td class={chain.ok ? undefined : "over"}>
                      {chain.ok
                        ? "ok"
                        : chain.break
                          ? `breaks at #${chain.break.seq}: ${chain.break.problem}`
                          : "not ok"}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
      ) : null}
    </Workbench>
  );
}
