/**
 * A local HTTP server that behaves like SendGrid's v3 `POST /v3/mail/send`, for tests only.
 *
 * It is a model of the provider, not of our code: every rule below comes from SendGrid's own
 * documentation, so a client that passes here is refused by SendGrid for the same reasons only.
 * The sources, cited as [ref], [errors], [limits] and [rate] next to each rule:
 *
 * - [ref]    Mail Send API reference — https://www.twilio.com/docs/sendgrid/api-reference/mail-send/mail-send
 *            (machine-readable: github.com/twilio/sendgrid-oai, spec/yaml/tsg_mail_v3.yaml)
 * - [errors] Mail Send errors — https://www.twilio.com/docs/sendgrid/api-reference/mail-send/errors
 * - [limits] Mail Send limitations — https://www.twilio.com/docs/sendgrid/api-reference/mail-send/limitations
 * - [rate]   Rate limits — https://www.twilio.com/docs/sendgrid/api-reference/how-to-use-the-sendgrid-v3-api/rate-limits
 *
 * Where the documentation gives no exact wording we say so; where two pages disagree, the fake
 * takes the stricter rule (a mail the fake accepts should not be refused by SendGrid).
 *
 * What it does not model: templates beyond "a template_id excuses subject and content",
 * ASM groups, mail/tracking settings, verified senders, gzip bodies, and real rate limiting (use
 * `failNext`). Attachments are checked as [ref] describes them (base64 content, a filename, a
 * disposition of `inline` or `attachment`). node:http only, so it runs wherever the tests run.
 */
import { randomBytes } from "node:crypto";
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type ServerResponse,
  STATUS_CODES,
} from "node:http";
import type { AddressInfo } from "node:net";

// ---------------------------------------------------------------------------------------------
// Public API

export interface SendGridServerOptions {
  /** API keys the server accepts; the first is `server.apiKey`. Default: one random `SG.` key. */
  apiKeys?: string[];
  /** 0 or absent: a random free port on 127.0.0.1. */
  port?: number;
  /** The server's clock in ms (for `send_at` and `X-RateLimit-Reset`). Default `Date.now`. */
  now?: () => number;
  /**
   * Largest accepted request body in bytes. Default 30 MiB: "The total size of your email,
   * including attachments, must be less than 30MB" [limits]. Lower it only to test the 413 path
   * cheaply; SendGrid's own value is the default.
   */
  maxBodyBytes?: number;
}

/** An address object as on the wire. */
export interface WireAddress {
  email: string;
  name?: string;
}

/** The shape of a request body the fake accepted (validated, so these fields are as typed). */
export interface MailSendBody {
  personalizations: {
    to: WireAddress[];
    cc?: WireAddress[];
    bcc?: WireAddress[];
    from?: WireAddress;
    subject?: string;
    headers?: Record<string, string>;
    substitutions?: Record<string, string>;
    custom_args?: Record<string, string>;
    send_at?: number;
    [key: string]: unknown;
  }[];
  from: WireAddress;
  reply_to?: WireAddress;
  subject?: string;
  content?: { type: string; value: string }[];
  template_id?: string;
  headers?: Record<string, string>;
  categories?: string[];
  custom_args?: Record<string, string>;
  send_at?: number;
  reply_to_list?: WireAddress[];
  attachments?: {
    content: string;
    filename: string;
    type?: string;
    disposition?: string;
    content_id?: string;
  }[];
  batch_id?: string;
  ip_pool_name?: string;
  tracking_settings?: Record<string, Record<string, unknown>>;
  [key: string]: unknown;
}

/** One HTTP request the server received, and how it answered. */
export interface ReceivedRequest {
  method: string;
  /** Path and query, e.g. `/v3/mail/send`. */
  path: string;
  /** Node's lower-cased request headers, e.g. `headers.authorization`. */
  headers: IncomingHttpHeaders;
  /** The parsed JSON body; undefined when it was not read, too large or not JSON. */
  body: unknown;
  /** Size of the request body in bytes. */
  bodyBytes: number;
  /** The status the server answered (0 when it dropped the connection). */
  status: number;
  /** The parsed error body the server answered with, if any. */
  errors: SendGridError[];
  receivedAt: number;
}

/** A request SendGrid would have queued for delivery (202). */
export interface AcceptedRequest extends ReceivedRequest {
  body: MailSendBody;
  status: 202;
  /** The `X-Message-Id` the server answered with. */
  messageId: string;
}

/** One entry of SendGrid's error body `{"errors": [...]}`. */
export interface SendGridError {
  message: string;
  field: string | null;
  help: string | null;
}

export interface FailOptions {
  /**
   * For 429: seconds until the client may retry. Sent as `Retry-After` and as
   * `X-RateLimit-Reset` (a Unix timestamp, as SendGrid documents it [rate]). Absent: neither
   * header is sent, so the client must fall back to its own backoff.
   */
  retryAfter?: number;
  /** Which of the two hint headers to send when `retryAfter` is given. Default both. */
  hint?: "both" | "retry-after" | "x-ratelimit-reset";
}

/**
 * How the server behaves from now on, until told otherwise (`failNext` goes first while it has
 * failures queued). Every mode but `ok` is a fault the provider really shows:
 * - `500`: every request answered 500 (an outage); nothing accepted;
 * - `429`: every request rate-limited, with `Retry-After` (`retryAfter` seconds, default 1);
 * - `hang`: the body is read, then no answer ever comes (until the client gives up); nothing
 *   accepted — the client cannot know that;
 * - `slow-accept`: the mail is accepted (it is in `requests`), the 202 comes after `delayMs`
 *   (default 60 s) — past a client's timeout, the answer is lost;
 * - `reset-after-accept`: the mail is accepted (in `requests`), then the connection is reset
 *   without an answer.
 */
export type FaultMode =
  | { mode: "ok" }
  | { mode: "500" }
  | { mode: "429"; retryAfter?: number }
  | { mode: "hang" }
  | { mode: "slow-accept"; delayMs?: number }
  | { mode: "reset-after-accept" };

export interface SendGridServer {
  /** Base URL, e.g. `http://127.0.0.1:41234` — what `SENDGRID_API_URL` would be. */
  url: string;
  /** The first accepted API key. */
  apiKey: string;
  apiKeys: readonly string[];
  /** Requests accepted for delivery (202), in order. */
  requests: AcceptedRequest[];
  /** Every request received, including refused ones and injected failures, in order. */
  attempts: ReceivedRequest[];
  /**
   * The next `count` requests (default 1) fail with `status` before any other check, as a
   * transient provider failure would: 429 (with the rate-limit headers of [rate]), 500 (JSON
   * body, as [ref] documents), 502/503/504 (an HTML page, as the load balancer in front of the
   * API answers), any other status (JSON body), or `"disconnect"` (the socket is destroyed
   * without an answer). Calls queue up: `failNext(429, 1); failNext(500, 2)`.
   */
  failNext(status: number | "disconnect", count?: number, options?: FailOptions): void;
  /** Sets the server's standing behaviour (`FaultMode`); `{ mode: "ok" }` restores it. */
  setMode(mode: FaultMode): void;
  /** Forgets recorded requests, pending failures and the fault mode. */
  reset(): void;
  close(): Promise<void>;
}

export async function startSendGridServer(
  options: SendGridServerOptions = {},
): Promise<SendGridServer> {
  const apiKeys = options.apiKeys?.length ? [...options.apiKeys] : [randomApiKey()];
  const [primaryKey] = apiKeys;
  if (primaryKey === undefined) throw new Error("unreachable: at least one API key");
  const now = options.now ?? Date.now;
  const maxBodyBytes = options.maxBodyBytes ?? MAX_BODY_BYTES;
  const requests: AcceptedRequest[] = [];
  const attempts: ReceivedRequest[] = [];
  const failures: { status: number | "disconnect"; remaining: number; options: FailOptions }[] = [];
  let fault: FaultMode = { mode: "ok" };
  /** Answers held back by `slow-accept`, answered (or dropped) at close. */
  const held = new Set<NodeJS.Timeout>();

  const takeFailure = () => {
    const next = failures[0];
    if (!next) return undefined;
    next.remaining--;
    if (next.remaining <= 0) failures.shift();
    return next;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const { bytes, size, truncated } = await readBody(req, maxBodyBytes);
    const record: ReceivedRequest = {
      method: req.method ?? "",
      path: req.url ?? "",
      headers: req.headers,
      body: undefined,
      bodyBytes: size,
      status: 0,
      errors: [],
      receivedAt: now(),
    };
    attempts.push(record);

    const failure = takeFailure();
    if (failure) {
      if (failure.status === "disconnect") {
        record.status = 0;
        req.socket.destroy();
        return;
      }
      sendInjectedFailure(res, record, failure.status, failure.options, now());
      return;
    }
    if (fault.mode === "500") return sendInjectedFailure(res, record, 500, {}, now());
    if (fault.mode === "429") {
      return sendInjectedFailure(res, record, 429, { retryAfter: fault.retryAfter ?? 1 }, now());
    }
    // Nothing is answered: the client waits until its own timeout.
    if (fault.mode === "hang") return;

    const path = (req.url ?? "").split("?")[0];
    if (path !== "/v3/mail/send") {
      return sendErrors(res, record, 404, [{ message: "not found", field: null, help: null }]);
    }
    if (req.method !== "POST") {
      res.setHeader("Allow", "POST");
      return sendErrors(res, record, 405, [
        { message: "method not allowed", field: null, help: null },
      ]);
    }
    // The size limit is enforced by the proxy in front of the API, before authentication.
    if (truncated) {
      return sendErrors(res, record, 413, [
        { message: "content too large", field: null, help: null },
      ]);
    }

    // "The Twilio SendGrid v3 APIs expect the key to be passed as a Bearer Token in an
    // Authorization header" [ref]. No header: "authorization required" (the 401 example of
    // [ref]); a key SendGrid does not know: the message SendGrid answers for a revoked key.
    const auth = req.headers.authorization;
    const match = auth ? /^Bearer\s+(\S+)\s*$/i.exec(auth) : null;
    if (!match) {
      return sendErrors(res, record, 401, [
        { message: "authorization required", field: null, help: null },
      ]);
    }
    if (!apiKeys.includes(match[1] ?? "")) {
      return sendErrors(res, record, 401, [
        {
          message: "The provided authorization grant is invalid, expired, or revoked",
          field: null,
          help: null,
        },
      ]);
    }

    // "Invalid UTF8 in request." [errors, Encoding errors]
    let text: string;
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch {
      return sendErrors(res, record, 400, [
        { message: "Invalid UTF8 in request.", field: null, help: null },
      ]);
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return sendErrors(res, record, 400, [{ message: "Bad Request", field: null, help: null }]);
    }
    record.body = body;

    const errors = validateMailSend(body, now());
    if (errors.length > 0) return sendErrors(res, record, 400, errors);

    // Accepted: 202, an empty body and the message id in `X-Message-Id` [ref].
    const messageId = randomBytes(16).toString("base64url");
    record.status = 202;
    requests.push({ ...record, body: body as MailSendBody, status: 202, messageId });
    if (fault.mode === "reset-after-accept") {
      // Taken for delivery, and the answer lost on the way back.
      req.socket.resetAndDestroy();
      return;
    }
    if (fault.mode === "slow-accept") {
      const timer = setTimeout(() => {
        held.delete(timer);
        if (!res.destroyed) res.writeHead(202, { "X-Message-Id": messageId }).end();
      }, fault.delayMs ?? 60_000);
      held.add(timer);
      return;
    }
    res.writeHead(202, {
      "X-Message-Id": messageId,
      "Content-Length": "0",
      ...rateLimitHeaders(now(), 599),
    });
    res.end();
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      res.statusCode = 500;
      res.end(String(error));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    apiKey: primaryKey,
    apiKeys,
    requests,
    attempts,
    failNext(status, count = 1, failOptions = {}) {
      if (count > 0) failures.push({ status, remaining: count, options: failOptions });
    },
    setMode(mode) {
      fault = mode;
    },
    reset() {
      requests.length = 0;
      attempts.length = 0;
      failures.length = 0;
      fault = { mode: "ok" };
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        for (const timer of held) clearTimeout(timer);
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

/** A random key in SendGrid's format (`SG.<id>.<secret>`), so clients that check it are quiet. */
export function randomApiKey(): string {
  return `SG.${randomBytes(16).toString("base64url")}.${randomBytes(32).toString("base64url")}`;
}

// ---------------------------------------------------------------------------------------------
// Documented limits

/** "must be less than 30MB" [limits]. */
export const MAX_BODY_BYTES = 30 * 1024 * 1024;
/** "limited to 1000 personalizations per API request" [errors]; `maxItems: 1000` [ref]. */
export const MAX_PERSONALIZATIONS = 1000;
/** "There is a limit of 1000 total recipients (to + cc + bcc) per request." [errors], [limits]. */
export const MAX_RECIPIENTS = 1000;
/**
 * custom_args: "This field may not exceed 10,000 bytes" (per personalization, [ref]); "The total
 * length of custom arguments must be less than 10000 bytes" [limits]. The errors page speaks of
 * 50,000 bytes for the merged global + personalization arguments; the fake takes the stricter
 * 10,000, measured on the merged object as SendGrid merges it [errors].
 */
export const MAX_CUSTOM_ARGS_BYTES = 10_000;
/** "The total collective size of your substitutions may not exceed 10,000 bytes per personalization object" [ref]. */
export const MAX_SUBSTITUTIONS_BYTES = 10_000;
/** "Scheduling more than 72 hours in advance is forbidden." [errors]; [ref] `send_at`. */
export const MAX_SCHEDULE_AHEAD_SECONDS = 72 * 60 * 60;
/** "There is a limit of 10 categories", "not be longer than 255 characters" [errors]; [ref]. */
export const MAX_CATEGORIES = 10;
export const MAX_CATEGORY_LENGTH = 255;
/**
 * "You may not override the following headers: x-sg-id, x-sg-eid, received, dkim-signature,
 * Content-Type, Content-Transfer-Encoding, To, From, Subject, Reply-To, CC, BCC." [ref], [errors].
 * Compared case-insensitively, as header names are (RFC 5322 §1.2.2).
 */
export const RESERVED_HEADERS: readonly string[] = [
  "x-sg-id",
  "x-sg-eid",
  "received",
  "dkim-signature",
  "content-type",
  "content-transfer-encoding",
  "to",
  "from",
  "subject",
  "reply-to",
  "cc",
  "bcc",
];

// ---------------------------------------------------------------------------------------------
// Validation

/** SendGrid's 400 errors carry a link into the errors page; this is the form the API uses. */
const HELP = "http://sendgrid.com/docs/API_Reference/Web_API_v3/Mail/errors.html#message.";

const FROM_MESSAGE =
  'The from object must be provided for every email send. It is an object that requires the email parameter, but may also contain a name parameter.  e.g. {"email" : "example@example.com"}  or {"email" : "example@example.com", "name" : "Example Recipient"}.';
const FROM_INVALID_MESSAGE =
  'The from object must at least have an email parameter with a valid email address and may also contain a name parameter. e.g. {"email" : "example@example.com"}  or {"email" : "example@example.com", "name" : "Example Recipient"}.';
const REPLY_TO_MESSAGE =
  'The reply_to object, when used, must at least have an email parameter with a valid email address and it may also contain a name parameter. e.g. {"email" : "example@example.com"}  or {"email" : "example@example.com", "name" : "Example Recipient"}.';
const CONTENT_ORDER_MESSAGE =
  "Following RFC 1341, section 7.2, if either text/html or text/plain are to be sent in your email: text/plain needs to be first, followed by text/html, followed by any other content.";

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * SendGrid does not publish its address grammar; this approximates RFC 5321 (dot-atom local
 * part, a domain of at least two labels, 254 characters at most) and refuses what SendGrid
 * refuses in practice: spaces, missing `@`, a bare host, angle-bracketed forms.
 */
export function isValidAddress(email: unknown): email is string {
  if (typeof email !== "string" || email.length > 254) return false;
  return /^[\p{L}\p{N}!#$%&'*+/=?^_`{|}~-]+(?:\.[\p{L}\p{N}!#$%&'*+/=?^_`{|}~-]+)*@(?:[\p{L}\p{N}](?:[\p{L}\p{N}-]{0,61}[\p{L}\p{N}])?\.)+[\p{L}\p{N}-]{2,63}$/u.test(
    email,
  );
}

function utf8Bytes(value: string): number {
  return Buffer.byteLength(value, "utf8");
}

/**
 * Checks a `mail/send` body against SendGrid's documented rules and returns every violation found
 * (SendGrid answers a list, one entry per problem). Empty: SendGrid would accept it.
 */
export function validateMailSend(body: unknown, nowMs: number): SendGridError[] {
  const errors: SendGridError[] = [];
  const add = (message: string, field: string | null, anchor: string) =>
    errors.push({ message, field, help: `${HELP}${anchor}` });

  if (!isRecord(body)) return [{ message: "Bad Request", field: null, help: null }];
  const usesTemplate = typeof body.template_id === "string" && body.template_id.length > 0;
  if (body.template_id !== undefined && typeof body.template_id !== "string") {
    add("The template ID must be a string.", "template_id", "template_id");
  }

  // --- personalizations [errors, Personalizations errors] ---------------------------------
  const personalizations = body.personalizations;
  let everyPersonalizationHasSubject = false;
  if (!Array.isArray(personalizations) || personalizations.length === 0) {
    add("You must have at least one personalization.", "personalizations", "personalizations");
  } else {
    if (personalizations.length > MAX_PERSONALIZATIONS) {
      add(
        `The personalization block is limited to ${MAX_PERSONALIZATIONS} personalizations per API request. You have provided ${personalizations.length} personalizations. Please consider splitting this into multiple requests and resending your request.`,
        "personalizations",
        "personalizations",
      );
    }
    let recipients = 0;
    everyPersonalizationHasSubject = true;
    personalizations.forEach((p: unknown, i) => {
      const at = `personalizations.${i}`;
      if (!isRecord(p)) {
        add(
          "The to parameter is required for all personalization objects.",
          `${at}.to`,
          "personalizations.to",
        );
        everyPersonalizationHasSubject = false;
        return;
      }
      if (!Array.isArray(p.to) || p.to.length === 0) {
        add(
          "The to parameter is required for all personalization objects.",
          `${at}.to`,
          "personalizations.to",
        );
      }
      // Within one personalization an address may appear once across to, cc and bcc. SendGrid's
      // message quotes the duplicate address (seen in its 400 bodies), which is why clients must
      // not log these messages verbatim.
      const seen = new Set<string>();
      for (const list of ["to", "cc", "bcc"] as const) {
        const value = p[list];
        if (value === undefined && list !== "to") continue;
        if (!Array.isArray(value)) {
          if (list !== "to") {
            add(
              `The ${list} array, when used, must be an array of recipient objects.`,
              `${at}.${list}`,
              `personalizations.${list}`,
            );
          }
          continue;
        }
        recipients += value.length;
        value.forEach((address: unknown, j) => {
          const email = isRecord(address) ? address.email : undefined;
          if (!isValidAddress(email)) {
            add(
              "Does not contain a valid address.",
              `${at}.${list}.${j}.email`,
              `personalizations.${list}`,
            );
            return;
          }
          // "The to.name, cc.name, and bcc.name personalizations cannot include either the ; or
          // , characters." [limits] (no documented wording for the error).
          const name = isRecord(address) ? address.name : undefined;
          if (name !== undefined && (typeof name !== "string" || /[;,]/.test(name))) {
            add(
              `The ${list}.name must be a string and cannot include either the ; or , characters.`,
              `${at}.${list}.${j}.name`,
              `personalizations.${list}`,
            );
          }
          const key = email.toLowerCase();
          if (seen.has(key)) {
            add(
              `Each email address in the personalization block should be unique between to, cc, and bcc. We found the first duplicate instance of [${email}] in the ${at}.${list} field.`,
              at,
              "recipient-errors",
            );
          }
          seen.add(key);
        });
      }
      if (p.from !== undefined && !(isRecord(p.from) && isValidAddress(p.from.email))) {
        add(FROM_INVALID_MESSAGE, `${at}.from.email`, "from");
      }
      if (p.subject === undefined) {
        everyPersonalizationHasSubject = false;
      } else if (typeof p.subject !== "string" || p.subject.length === 0) {
        everyPersonalizationHasSubject = false;
        add(
          "The subject of your email must be a string at least one character in length.",
          `${at}.subject`,
          "personalizations.subject",
        );
      }
      validateHeaders(p.headers, `${at}.headers`, "personalizations.headers", add);
      validateSubstitutions(p.substitutions, `${at}.substitutions`, add);
      validateCustomArgs(p.custom_args, body.custom_args, `${at}.custom_args`, add);
      validateSendAt(p.send_at, `${at}.send_at`, "personalizations.send_at", nowMs, add);
    });
    if (recipients > MAX_RECIPIENTS) {
      add(
        `There is a limit of ${MAX_RECIPIENTS} total recipients (to + cc + bcc) per request.`,
        "personalizations",
        "personalizations",
      );
    }
  }

  // --- from, reply_to [errors, From Address errors; Reply to errors] -----------------------
  if (!isRecord(body.from) || body.from.email === undefined) {
    add(FROM_MESSAGE, "from.email", "from");
  } else if (
    !isValidAddress(body.from.email) ||
    // "Unicode encoding is not supported for the from field." [limits]
    /[^\x20-\x7e]/.test(body.from.email)
  ) {
    add(FROM_INVALID_MESSAGE, "from.email", "from");
  }
  if (
    body.reply_to !== undefined &&
    !(isRecord(body.reply_to) && isValidAddress(body.reply_to.email))
  ) {
    add(REPLY_TO_MESSAGE, "reply_to.email", "reply_to");
  }

  // --- subject [errors, Subject line errors]; `minLength: 1` [ref] ---------------------------
  if (
    body.subject !== undefined &&
    (typeof body.subject !== "string" || body.subject.length === 0)
  ) {
    add(
      "The subject of your email must be a string at least one character in length.",
      "subject",
      "subject",
    );
  } else if (body.subject === undefined && !usesTemplate && !everyPersonalizationHasSubject) {
    add(
      "The subject is required. You can get around this requirement if you use a template with a subject defined or if every personalization has a subject defined.",
      "subject",
      "subject",
    );
  }

  // --- content [errors, Content errors] ---------------------------------------------------
  const content = body.content;
  if (content === undefined) {
    if (!usesTemplate) {
      add(
        "The content param is required unless you are using a transactional template and have defined a template_ID.",
        "content",
        "content",
      );
    }
  } else if (!Array.isArray(content) || content.length === 0) {
    add(
      "There must be at least one defined content block. We typically suggest both text/plain and text/html blocks are included, but only one block is required.",
      "content",
      "content",
    );
  } else {
    // text/plain first, then text/html, then anything else ("Following RFC 1341 ...").
    const rank = (type: string) => (type === "text/plain" ? 0 : type === "text/html" ? 1 : 2);
    let previous = -1;
    let ordered = true;
    content.forEach((block: unknown, i) => {
      const type = isRecord(block) ? block.type : undefined;
      const value = isRecord(block) ? block.value : undefined;
      if (typeof type !== "string" || type.length === 0) {
        add(
          "Your content type must be a string with length of at least one character.",
          `content.${i}.type`,
          "content.type",
        );
      } else {
        if (/[;\r\n]/.test(type))
          add("Cannot contain ';', or CRLF characters.", `content.${i}.type`, "content.type");
        const r = rank(type.toLowerCase());
        if (r < previous) ordered = false;
        previous = Math.max(previous, r);
      }
      if (typeof value !== "string" || value.length === 0) {
        add(
          "The content value must be a string at least one character in length.",
          `content.${i}.value`,
          "content.value",
        );
      }
    });
    if (!ordered) add(CONTENT_ORDER_MESSAGE, "content", "content.value");
  }

  // --- reply_to_list: "You can use either the reply_to property or reply_to_list property but
  // not both" [ref]; attachments [ref] (no documented wording for these errors). -------------
  if (body.reply_to !== undefined && body.reply_to_list !== undefined) {
    add("You can use either reply_to or reply_to_list, but not both.", "reply_to_list", "reply_to");
  }
  validateAttachments(body.attachments, add);

  // --- headers, custom_args, send_at, categories at message level --------------------------
  validateHeaders(body.headers, "headers", "headers", add);
  if (!Array.isArray(personalizations) || personalizations.length === 0) {
    validateCustomArgs(undefined, body.custom_args, "custom_args", add);
  }
  validateSendAt(body.send_at, "send_at", "send_at", nowMs, add);
  validateCategories(body.categories, add);
  // A bad message-level value is found once per personalization; SendGrid reports it once.
  const unique = new Map(errors.map((e) => [`${e.field}\u0000${e.message}`, e]));
  return [...unique.values()];
}

type Add = (message: string, field: string | null, anchor: string) => void;

/** [errors, Headers errors] and [errors, personalizations.headers]. */
function validateHeaders(headers: unknown, field: string, anchor: string, add: Add) {
  if (headers === undefined) return;
  if (!isRecord(headers)) {
    add("The headers must be an object.", field, anchor);
    return;
  }
  const seen = new Set<string>();
  for (const [name, value] of Object.entries(headers)) {
    if (typeof value !== "string") {
      add("All values of the headers object must be strings.", `${field}.${name}`, anchor);
    }
    if (name.length === 0 || /[^\x21-\x7e]/.test(name)) {
      add("Header keys can't contain non-ASCII characters or empty spaces.", field, anchor);
      continue;
    }
    const lower = name.toLowerCase();
    if (RESERVED_HEADERS.includes(lower)) {
      add(
        `Header can't be one of the reserved keys. You provided ${name}.`,
        `${field}.${name}`,
        anchor,
      );
    }
    // JSON itself cannot carry a duplicate key past a parser; names differing only in case can.
    if (seen.has(lower))
      add("The headers can't contain duplicate keys.", `${field}.${name}`, anchor);
    seen.add(lower);
  }
}

/** [ref] `attachments`: `content` (base64, minLength 1) and `filename` required; `disposition` an enum. */
function validateAttachments(attachments: unknown, add: Add) {
  if (attachments === undefined) return;
  if (!Array.isArray(attachments)) {
    add("The attachments must be an array.", "attachments", "attachments");
    return;
  }
  attachments.forEach((attachment: unknown, i) => {
    const at = `attachments.${i}`;
    const a = isRecord(attachment) ? attachment : {};
    const content = a.content;
    if (
      typeof content !== "string" ||
      content.length === 0 ||
      content.length % 4 !== 0 ||
      !/^[A-Za-z0-9+/]*={0,2}$/.test(content)
    ) {
      add("The attachment content must be base64 encoded.", `${at}.content`, "attachments.content");
    }
    if (typeof a.filename !== "string" || a.filename.length === 0) {
      add(
        "The attachment filename parameter is required.",
        `${at}.filename`,
        "attachments.filename",
      );
    }
    if (
      a.disposition !== undefined &&
      a.disposition !== "inline" &&
      a.disposition !== "attachment"
    ) {
      add(
        "The disposition must be inline or attachment.",
        `${at}.disposition`,
        "attachments.disposition",
      );
    }
  });
}

/** [errors, personalizations.substitutions]; the byte limit from [ref]. */
function validateSubstitutions(substitutions: unknown, field: string, add: Add) {
  if (substitutions === undefined) return;
  const anchor = "personalizations.substitutions";
  const message =
    "The substitution values must be an object of key/value pairs, where the values are all strings.";
  if (!isRecord(substitutions)) {
    add(message, field, anchor);
    return;
  }
  let bytes = 0;
  for (const [key, value] of Object.entries(substitutions)) {
    if (typeof value !== "string") {
      add(message, field, anchor);
      return;
    }
    bytes += utf8Bytes(key) + utf8Bytes(value);
  }
  if (bytes > MAX_SUBSTITUTIONS_BYTES) {
    add(
      `The total collective size of your substitutions may not exceed ${MAX_SUBSTITUTIONS_BYTES} bytes per personalization object.`,
      field,
      anchor,
    );
  }
}

/**
 * [errors, personalizations.custom_args]: values must be strings, the object not empty, and the
 * personalization's arguments merged over the message-level ones may not exceed the limit.
 */
function validateCustomArgs(own: unknown, global: unknown, field: string, add: Add) {
  const anchor = "personalizations.custom_args";
  const merged: Record<string, unknown> = {};
  for (const [source, at] of [
    [global, "custom_args"],
    [own, field],
  ] as const) {
    if (source === undefined) continue;
    if (!isRecord(source)) {
      add("All values of custom arguments object must be strings", at, anchor);
      return;
    }
    if (Object.keys(source).length === 0) {
      add("custom_args can't be empty.", at, anchor);
      return;
    }
    if (Object.values(source).some((value) => typeof value !== "string")) {
      add("All values of custom arguments object must be strings", at, anchor);
      return;
    }
    Object.assign(merged, source);
  }
  if (utf8Bytes(JSON.stringify(merged)) > MAX_CUSTOM_ARGS_BYTES) {
    add(
      `The combined size of both global and personalization custom arguments may not exceed ${MAX_CUSTOM_ARGS_BYTES} bytes per personalization.`,
      field,
      anchor,
    );
  }
}

/** [errors, Send at errors]: an integer Unix timestamp, at most 72 hours ahead; past is "now". */
function validateSendAt(sendAt: unknown, field: string, anchor: string, nowMs: number, add: Add) {
  if (sendAt === undefined) return;
  if (typeof sendAt !== "number" || !Number.isInteger(sendAt)) {
    add(
      "The send_at parameter is expecting a UNIX timestamp as an integer. We will send immediately if you include a send_at timestamp that is in the past.",
      field,
      anchor,
    );
    return;
  }
  if (sendAt > Math.floor(nowMs / 1000) + MAX_SCHEDULE_AHEAD_SECONDS) {
    add("Scheduling more than 72 hours in advance is forbidden.", field, anchor);
  }
}

/** [errors, Categories errors]. */
function validateCategories(categories: unknown, add: Add) {
  if (categories === undefined) return;
  if (!Array.isArray(categories) || categories.some((c) => typeof c !== "string")) {
    add("Categories must be an array of strings.", "categories", "categories");
    return;
  }
  if (categories.length > MAX_CATEGORIES) {
    add(
      `There is a limit of ${MAX_CATEGORIES} categories for each email that is sent. You provided ${categories.length} categories.`,
      "categories",
      "categories",
    );
  }
  const seen = new Set<string>();
  for (const category of categories as string[]) {
    if (category.length > MAX_CATEGORY_LENGTH) {
      add(
        `Each category must not be longer than ${MAX_CATEGORY_LENGTH} characters.`,
        "categories",
        "categories",
      );
    }
    if (!/^\p{ASCII}*$/u.test(category)) {
      add("Categories can not contain non-ASCII characters.", "categories", "categories");
    }
    if (seen.has(category)) {
      add("The categories must be a unique list.", "categories", "categories");
    }
    seen.add(category);
  }
}

// ---------------------------------------------------------------------------------------------
// HTTP plumbing

/**
 * Reads the whole body, keeping at most `limit` bytes. Beyond it the rest is drained (not
 * kept), so the client always gets an answer rather than a reset mid-upload.
 */
async function readBody(req: IncomingMessage, limit: number) {
  const chunks: Buffer[] = [];
  let size = 0;
  let truncated = false;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      truncated = true;
      chunks.length = 0;
    } else if (!truncated) {
      chunks.push(chunk);
    }
  }
  return { bytes: truncated ? Buffer.alloc(0) : Buffer.concat(chunks), size, truncated };
}

/**
 * The `X-RateLimit-*` headers SendGrid sends [rate]; the reset is a Unix timestamp in seconds.
 * The limit value is illustrative: SendGrid publishes no number for mail/send.
 */
function rateLimitHeaders(nowMs: number, remaining: number, resetInSeconds = 1) {
  return {
    "X-RateLimit-Limit": "600",
    "X-RateLimit-Remaining": String(remaining),
    "X-RateLimit-Reset": String(Math.floor(nowMs / 1000) + resetInSeconds),
  };
}

function sendErrors(
  res: ServerResponse,
  record: ReceivedRequest,
  status: number,
  errors: SendGridError[],
) {
  record.status = status;
  record.errors = errors;
  const body = JSON.stringify({ errors });
  res.writeHead(status, {
    "Content-Type": "application/json",
    "Content-Length": String(Buffer.byteLength(body)),
  });
  res.end(body);
}

function sendInjectedFailure(
  res: ServerResponse,
  record: ReceivedRequest,
  status: number,
  options: FailOptions,
  nowMs: number,
) {
  if (status === 429) {
    // "HTTP/1.1 429 TOO MANY REQUESTS ... {"errors": [{"field": null, "message": "too many
    // requests"}]}" [rate].
    const headers: Record<string, string> = {};
    if (options.retryAfter !== undefined) {
      const hint = options.hint ?? "both";
      if (hint !== "retry-after") {
        // A Unix timestamp in seconds: exact when the clock is on a second boundary.
        Object.assign(headers, rateLimitHeaders(nowMs, 0, options.retryAfter));
      }
      if (hint !== "x-ratelimit-reset") headers["Retry-After"] = String(options.retryAfter);
    }
    for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
    return sendErrors(res, record, 429, [
      { message: "too many requests", field: null, help: null },
    ]);
  }
  if (status === 502 || status === 503 || status === 504) {
    // Gateway errors come from the load balancer, as an HTML page rather than JSON.
    const title = `${status} ${STATUS_CODES[status] ?? "Error"}`;
    const html = `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${title}</h1></center>\r\n</body>\r\n</html>\r\n`;
    record.status = status;
    res.writeHead(status, {
      "Content-Type": "text/html",
      "Content-Length": String(Buffer.byteLength(html)),
    });
    res.end(html);
    return;
  }
  const message =
    status === 500 ? "internal server error" : (STATUS_CODES[status] ?? "error").toLowerCase();
  return sendErrors(res, record, status, [{ message, field: null, help: null }]);
}
