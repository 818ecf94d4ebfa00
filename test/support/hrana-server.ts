/**
 * A minimal Hrana v2 (JSON over HTTP) server over the `libsql` package, for tests only.
 *
 * The Workers build talks to libSQL through `@libsql/client/web`, i.e. over HTTP, and no libSQL
 * server (sqld) ships on npm. This speaks just enough of the protocol that `@libsql/client` 0.18
 * (hrana-client 0.10) sends, against a real libSQL engine on a file, so the HTTP code path can be
 * tested without an account. Behaviour follows sqld (libsql-server) where the client can tell:
 * result shapes, error codes, argument binding, one connection per stream.
 *
 * Not a production server: no auth, no size limits, no cursors (v3), no protobuf.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import Database from "libsql";

export interface HranaServerOptions {
  dbPath: string;
  /** 0 or absent: a random free port. */
  port?: number;
  /** A stream (baton) idle this long is closed and its transaction rolled back; sqld uses 10 s. */
  streamIdleTimeoutMs?: number;
  /** How long a statement waits for another stream's write lock before failing with SQLITE_BUSY. */
  busyTimeoutMs?: number;
}

export interface HranaServer {
  /** Base URL for `createClient({ url })`, e.g. `http://127.0.0.1:41234`. */
  url: string;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Wire format (JSON), as written by hrana-client's http/json_encode.js and read by json_decode.js.

type ProtoValue =
  | { type: "null" }
  | { type: "integer"; value: string }
  | { type: "float"; value: number }
  | { type: "text"; value: string }
  | { type: "blob"; base64: string };

interface ProtoStmt {
  sql?: string;
  sql_id?: number;
  args?: ProtoValue[];
  named_args?: { name: string; value: ProtoValue }[];
  /** Ignored: current sqld returns the rows regardless. */
  want_rows?: boolean;
}

type ProtoCond =
  | { type: "ok" | "error"; step: number }
  | { type: "not"; cond: ProtoCond }
  | { type: "and" | "or"; conds: ProtoCond[] }
  | { type: "is_autocommit" };

interface ProtoBatch {
  steps: { condition?: ProtoCond | null; stmt: ProtoStmt }[];
}

type StreamRequest =
  | { type: "close" }
  | { type: "execute"; stmt: ProtoStmt }
  | { type: "batch"; batch: ProtoBatch }
  | { type: "sequence" | "describe"; sql?: string; sql_id?: number }
  | { type: "store_sql"; sql_id: number; sql: string }
  | { type: "close_sql"; sql_id: number }
  | { type: "get_autocommit" };

interface PipelineReqBody {
  baton?: string | null;
  requests: StreamRequest[];
}

interface ProtoError {
  message: string;
  code: string;
}

interface StmtResult {
  cols: { name: string; decltype: string | null }[];
  rows: ProtoValue[][];
  affected_row_count: number;
  last_insert_rowid: string | null;
}

interface BatchResult {
  step_results: (StmtResult | null)[];
  step_errors: (ProtoError | null)[];
}

interface DescribeResult {
  params: { name: string | null }[];
  cols: { name: string; decltype: string | null }[];
  is_explain: boolean;
  is_readonly: boolean;
}

type StreamResponse =
  | { type: "close" | "sequence" | "store_sql" | "close_sql" }
  | { type: "execute"; result: StmtResult }
  | { type: "batch"; result: BatchResult }
  | { type: "describe"; result: DescribeResult }
  | { type: "get_autocommit"; is_autocommit: boolean };

type StreamResult = { type: "ok"; response: StreamResponse } | { type: "error"; error: ProtoError };

interface PipelineRespBody {
  /** Null once the stream is closed; otherwise the client must send it with its next request. */
  baton: string | null;
  base_url: null;
  results: StreamResult[];
}

/** An error reported to the client with one of sqld's error codes. */
class HranaError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

// ---------------------------------------------------------------------------------------------
// SQL scanning. sqld parses SQL before running it; libsql only prepares the first statement and
// silently ignores the rest, and its Statement exposes neither the parameter names nor whether
// it is an INSERT. A tokenizer is enough to recover what sqld's parser uses.

interface Token {
  kind: "word" | "param" | "semicolon" | "open" | "close" | "other";
  /** Upper-cased for words, so keyword checks are case-insensitive. */
  text: string;
  start: number;
  end: number;
}

const TOKEN_SOURCE = [
  String.raw`(?<skip>\s+|--[^\n]*|/\*[\s\S]*?(?:\*/|$))`,
  // String literals and quoted identifiers: never keywords, may contain `;` or `?`.
  String.raw`(?<quoted>'(?:[^']|'')*'?|"(?:[^"]|"")*"?|\x60(?:[^\x60]|\x60\x60)*\x60?|\[[^\]]*\]?)`,
  String.raw`(?<param>\?\d*|[:@$][\p{L}\p{N}_$]+)`,
  String.raw`(?<word>[\p{L}_][\p{L}\p{N}_$]*)`,
  String.raw`(?<number>\.?\d[\p{L}\p{N}_.]*)`,
  String.raw`(?<punct>[\s\S])`,
].join("|");

function* tokenize(sql: string): Generator<Token> {
  const pattern = new RegExp(TOKEN_SOURCE, "uy"); // sticky: each match starts where the last ended
  for (let match = pattern.exec(sql); match !== null; match = pattern.exec(sql)) {
    const groups = match.groups ?? {};
    const text = match[0];
    const start = match.index;
    const end = start + text.length;
    if (groups.skip !== undefined) continue;
    if (groups.word !== undefined) yield { kind: "word", text: text.toUpperCase(), start, end };
    else if (groups.param !== undefined) yield { kind: "param", text, start, end };
    else if (text === ";") yield { kind: "semicolon", text, start, end };
    else if (text === "(") yield { kind: "open", text, start, end };
    else if (text === ")") yield { kind: "close", text, start, end };
    else yield { kind: "other", text, start, end };
  }
}

interface ParsedStatement {
  sql: string;
  /** What the statement does: SELECT, INSERT, CREATE, BEGIN, EXPLAIN, … (after any WITH clause). */
  verb: string;
  /** Parameter names by 1-based index minus one, as sqlite3_bind_parameter_name() reports them. */
  params: (string | null)[];
}

const DML_VERBS = new Set(["SELECT", "VALUES", "INSERT", "REPLACE", "UPDATE", "DELETE"]);

function parseStatements(sql: string): ParsedStatement[] {
  const statements: ParsedStatement[] = [];
  let tokens: Token[] = [];
  for (const token of tokenize(sql)) {
    // Inside CREATE TRIGGER … BEGIN … END, `;` separates the body's statements (the same rule
    // sqlite3_complete() uses).
    const endsStatement =
      token.kind === "semicolon" && (!isCreateTrigger(tokens) || tokens.at(-1)?.text === "END");
    if (!endsStatement) tokens.push(token);
    else if (tokens.length > 0) {
      statements.push(toStatement(sql, tokens));
      tokens = [];
    }
  }
  if (tokens.length > 0) statements.push(toStatement(sql, tokens));
  return statements;
}

function isCreateTrigger(tokens: Token[]): boolean {
  const [first, second, third] = tokens.map((t) => t.text);
  return (
    first === "CREATE" &&
    (second === "TRIGGER" || ((second === "TEMP" || second === "TEMPORARY") && third === "TRIGGER"))
  );
}

function toStatement(sql: string, tokens: Token[]): ParsedStatement {
  const first = tokens[0];
  const last = tokens.at(-1);
  if (first === undefined || last === undefined) throw new Error("empty statement");

  // `WITH x AS (…) INSERT …` is an INSERT: take the first DML keyword outside parentheses.
  let verb = first.text;
  if (verb === "WITH") {
    let depth = 0;
    for (const token of tokens) {
      if (token.kind === "open") depth++;
      else if (token.kind === "close") depth--;
      else if (depth === 0 && token.kind === "word" && DML_VERBS.has(token.text)) {
        verb = token.text;
        break;
      }
    }
  }

  // SQLite's numbering: `?` takes the next index, `?NNN` index NNN, a name its first index.
  const params: (string | null)[] = [];
  for (const { kind, text } of tokens) {
    if (kind !== "param") continue;
    if (text === "?") params.push(null);
    else if (text.startsWith("?")) {
      const index = Number(text.slice(1));
      while (params.length < index) params.push(null);
      params[index - 1] ??= text;
    } else if (!params.includes(text)) params.push(text);
  }

  return { sql: sql.slice(first.start, last.end), verb, params };
}

// ---------------------------------------------------------------------------------------------
// Execution.

type Connection = Database.Database;
type SqlValue = null | bigint | number | string | Buffer;

function valueFromProto(value: ProtoValue): SqlValue {
  switch (value.type) {
    case "null":
      return null;
    case "integer":
      return BigInt(value.value);
    case "float":
      return value.value;
    case "text":
      return value.value;
    case "blob":
      return Buffer.from(value.base64, "base64");
  }
}

function valueToProto(value: unknown): ProtoValue {
  // Statements run with safeIntegers, so INTEGER arrives as bigint and REAL as number.
  if (value === null) return { type: "null" };
  if (typeof value === "bigint") return { type: "integer", value: value.toString() };
  if (typeof value === "number") return { type: "float", value };
  if (typeof value === "string") return { type: "text", value };
  if (value instanceof Uint8Array) {
    return { type: "blob", base64: Buffer.from(value).toString("base64") };
  }
  throw new HranaError(`Unexpected value from libsql: ${String(value)}`, "INTERNAL");
}

/**
 * Orders the arguments by parameter index, like sqld's `Params::bind`: a missing value or a
 * surplus argument is ARGS_INVALID (libsql would silently bind NULL or drop it), and a name
 * matches with or without its `:`/`@`/`$` prefix.
 */
function bindArgs(statement: ParsedStatement, stmt: ProtoStmt): SqlValue[] {
  const positional = (stmt.args ?? []).map(valueFromProto);
  const named = new Map(
    (stmt.named_args ?? []).map(({ name, value }) => [name, valueFromProto(value)]),
  );
  if (positional.length > 0 && named.size > 0) {
    throw new HranaError(
      "Specifying both positional and named arguments is not supported",
      "ARGS_BOTH_POSITIONAL_AND_NAMED",
    );
  }
  const invalid = (reason: string) =>
    new HranaError(`Arguments do not match SQL parameters: ${reason}`, "ARGS_INVALID");
  const given = Math.max(positional.length, named.size);
  if (given > statement.params.length) {
    throw invalid(`too many parameters, expected ${statement.params.length} found ${given}`);
  }
  return statement.params.map((name, i) => {
    let value: SqlValue | undefined;
    if (name === null) value = positional[i];
    else if (name.startsWith("?")) value = positional[Number(name.slice(1)) - 1];
    else if (named.has(name)) value = named.get(name);
    else value = named.get(name.slice(1));
    if (value === undefined) throw invalid(`value for parameter ${name ?? i + 1} not found`);
    return value;
  });
}

function runPrepared(
  db: Connection,
  prepared: Database.Statement,
  statement: ParsedStatement,
  args: SqlValue[],
): StmtResult {
  const cols = prepared.columns().map((c) => ({ name: c.name, decltype: c.type }));
  let rows: ProtoValue[][] = [];
  if (prepared.reader) {
    const raw = prepared.safeIntegers(true).raw(true).all(args) as unknown[][];
    rows = raw.map((row) => row.map(valueToProto));
  } else {
    prepared.run(args);
  }
  // run() reports last_insert_rowid as a lossy number and all() reports nothing, so ask SQLite.
  const [counters] = db
    .prepare("SELECT changes(), last_insert_rowid()")
    .safeIntegers(true)
    .raw(true)
    .all() as [bigint, bigint][];
  const [changes = 0n, rowid = 0n] = counters ?? [];
  // As sqld does: changes() is not reset by other statements, and last_insert_rowid only
  // means something after an INSERT.
  const isInsert = statement.verb === "INSERT" || statement.verb === "REPLACE";
  const isIud = isInsert || statement.verb === "UPDATE" || statement.verb === "DELETE";
  return {
    cols,
    rows,
    affected_row_count: isIud ? Number(changes) : 0,
    last_insert_rowid: isInsert ? rowid.toString() : null,
  };
}

function toProtoError(error: unknown): ProtoError {
  if (error instanceof HranaError) return { message: error.message, code: error.code };
  if (error instanceof Database.SqliteError) {
    // sqld reports the primary result code (SQLITE_CONSTRAINT, not SQLITE_CONSTRAINT_UNIQUE).
    const code = /^SQLITE_[A-Z]+/.exec(error.code)?.[0] ?? "SQLITE_UNKNOWN";
    return { message: `SQLite error: ${error.message}`, code };
  }
  return { message: error instanceof Error ? error.message : String(error), code: "INTERNAL" };
}

/** One Hrana stream: a connection of its own, so transactions behave as in SQLite. */
class Stream {
  db: Connection | undefined;
  readonly sqls = new Map<number, string>();
  idleTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly dbPath: string,
    private readonly busyTimeoutMs: number,
  ) {
    this.db = new Database(dbPath);
  }

  close(): void {
    clearTimeout(this.idleTimer);
    const db = this.db;
    this.db = undefined;
    if (db === undefined) return;
    try {
      // libsql keeps the connection (and its locks) alive while any Statement object is still
      // reachable, so close() alone would leave an abandoned transaction holding the write lock.
      if (db.inTransaction) db.exec("ROLLBACK");
    } finally {
      db.close();
    }
  }

  get closed(): boolean {
    return this.db === undefined;
  }

  connection(): Connection {
    if (this.db === undefined) throw new HranaError("The stream is closed", "STREAM_CLOSED");
    return this.db;
  }

  resolveSql(sql: string | undefined, sqlId: number | undefined): string {
    if (sql !== undefined && sqlId !== undefined) {
      throw new HranaError("Both `sql` and `sql_id` were given", "PROTOCOL_ERROR");
    }
    if (sql !== undefined) return sql;
    const stored = sqlId === undefined ? undefined : this.sqls.get(sqlId);
    if (stored === undefined) throw new HranaError(`SQL text ${sqlId} not found`, "PROTOCOL_ERROR");
    return stored;
  }

  /**
   * Runs a statement, waiting while another stream holds the write lock. Every connection lives
   * on this one thread, so SQLite's own busy handler would block the holder from ever finishing;
   * instead retry asynchronously (only plain SQLITE_BUSY: BUSY_SNAPSHOT cannot succeed later).
   */
  async run(statement: ParsedStatement, args: SqlValue[]): Promise<StmtResult> {
    const db = this.connection();
    // The retry must re-run this same Statement: one that failed with SQLITE_BUSY stays active
    // inside SQLite until it is reset (libsql resets only when running it again), and while it
    // is active no other write on the connection can autocommit.
    const prepared = db.prepare(statement.sql);
    const deadline = Date.now() + this.busyTimeoutMs;
    for (;;) {
      try {
        return runPrepared(db, prepared, statement, args);
      } catch (error) {
        const busy = error instanceof Database.SqliteError && error.code.startsWith("SQLITE_BUSY");
        if (!busy) throw error;
        if (error.code === "SQLITE_BUSY" && Date.now() < deadline) {
          await sleep(5);
          continue;
        }
        // Giving up leaves that statement active, so outside a transaction move the stream to a
        // fresh connection (inside one, ROLLBACK still works, and the client will send it).
        if (this.db === db && !db.inTransaction) {
          db.close();
          this.db = new Database(this.dbPath);
        }
        throw error;
      }
    }
  }

  async execute(stmt: ProtoStmt): Promise<StmtResult> {
    const statement = singleStatement(this.resolveSql(stmt.sql, stmt.sql_id));
    return this.run(statement, bindArgs(statement, stmt));
  }

  async batch(batch: ProtoBatch): Promise<BatchResult> {
    const succeeded: boolean[] = [];
    const result: BatchResult = { step_results: [], step_errors: [] };
    for (const { condition, stmt } of batch.steps) {
      let stepResult: StmtResult | null = null;
      let stepError: ProtoError | null = null;
      try {
        if (condition == null || this.evalCond(condition, succeeded)) {
          stepResult = await this.execute(stmt);
        }
      } catch (error) {
        stepError = toProtoError(error);
      }
      // A skipped step has neither result nor error; conditions see it as not ok.
      succeeded.push(stepResult !== null);
      result.step_results.push(stepResult);
      result.step_errors.push(stepError);
    }
    return result;
  }

  evalCond(cond: ProtoCond, succeeded: boolean[]): boolean {
    switch (cond.type) {
      case "ok":
      case "error": {
        const ok = succeeded[cond.step];
        if (ok === undefined) {
          throw new HranaError(
            `Condition refers to step ${cond.step}, not yet run`,
            "PROTOCOL_ERROR",
          );
        }
        return cond.type === "ok" ? ok : !ok;
      }
      case "not":
        return !this.evalCond(cond.cond, succeeded);
      case "and":
        return cond.conds.every((c) => this.evalCond(c, succeeded));
      case "or":
        return cond.conds.some((c) => this.evalCond(c, succeeded));
      case "is_autocommit":
        return !this.connection().inTransaction;
    }
  }

  /** Runs each statement in turn, stopping at the first error; not atomic, as in sqld. */
  async sequence(sql: string): Promise<void> {
    for (const statement of parseStatements(sql)) {
      await this.run(statement, bindArgs(statement, {}));
    }
  }

  describe(sql: string): DescribeResult {
    const statement = singleStatement(sql);
    const db = this.connection();
    const cols = db
      .prepare(statement.sql)
      .columns()
      .map((c) => ({ name: c.name, decltype: c.type }));
    return {
      params: statement.params.map((name) => ({ name })),
      cols,
      is_explain: statement.verb === "EXPLAIN",
      is_readonly: isReadonly(db, statement),
    };
  }

  storeSql(sqlId: number, sql: string): void {
    // sqld's limits; the client's SQL cache stays below them, so hitting one is a client bug.
    if (this.sqls.has(sqlId)) throw new HranaError(`SQL text ${sqlId} exists`, "PROTOCOL_ERROR");
    if (this.sqls.size >= 50) throw new HranaError("Too many SQL texts", "SQL_STORE_TOO_MANY");
    if (sql.length > 5000) throw new HranaError("SQL text too large", "SQL_STORE_TOO_LARGE");
    this.sqls.set(sqlId, sql);
  }

  async handle(request: StreamRequest): Promise<StreamResponse> {
    switch (request.type) {
      case "close":
        this.close();
        return { type: "close" };
      case "execute":
        return { type: "execute", result: await this.execute(request.stmt) };
      case "batch":
        return { type: "batch", result: await this.batch(request.batch) };
      case "sequence":
        await this.sequence(this.resolveSql(request.sql, request.sql_id));
        return { type: "sequence" };
      case "describe":
        return {
          type: "describe",
          result: this.describe(this.resolveSql(request.sql, request.sql_id)),
        };
      case "store_sql":
        this.storeSql(request.sql_id, request.sql);
        return { type: "store_sql" };
      case "close_sql":
        this.sqls.delete(request.sql_id);
        return { type: "close_sql" };
      case "get_autocommit":
        return { type: "get_autocommit", is_autocommit: !this.connection().inTransaction };
    }
  }
}

function singleStatement(sql: string): ParsedStatement {
  const [statement, ...rest] = parseStatements(sql);
  if (statement === undefined) {
    throw new HranaError("SQL string does not contain any statement", "SQL_NO_STATEMENT");
  }
  if (rest.length > 0) {
    throw new HranaError("SQL string contains more than one statement", "SQL_MANY_STATEMENTS");
  }
  return statement;
}

const TRANSACTION_CONTROL = new Set(["BEGIN", "COMMIT", "END", "ROLLBACK", "SAVEPOINT", "RELEASE"]);

/** sqlite3_stmt_readonly() is not exposed, so look for a write transaction in the program. */
function isReadonly(db: Connection, statement: ParsedStatement): boolean {
  if (statement.verb === "EXPLAIN" || TRANSACTION_CONTROL.has(statement.verb)) return true;
  const program = db.prepare(`EXPLAIN ${statement.sql}`).raw(true).all() as unknown[][];
  // Columns: addr, opcode, p1, p2, …; `Transaction` with p2 != 0 starts a write transaction.
  return !program.some((op) => op[1] === "Transaction" && op[3] !== 0);
}

// ---------------------------------------------------------------------------------------------
// HTTP.

function isPipelineBody(body: unknown): body is PipelineReqBody {
  return typeof body === "object" && body !== null && Array.isArray(Reflect.get(body, "requests"));
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  // The client compares content-type exactly ("application/json"), so no charset parameter.
  res.writeHead(status, { "content-type": contentType }).end(body);
}

export async function startHranaServer(options: HranaServerOptions): Promise<HranaServer> {
  const { dbPath, port = 0, streamIdleTimeoutMs = 10_000, busyTimeoutMs = 5_000 } = options;

  // WAL is a property of the file: set once so that readers never block the writer.
  const setup = new Database(dbPath);
  setup.exec("PRAGMA journal_mode = WAL");
  setup.close();

  /** Open streams by their current baton. A baton is single-use: each response issues a new one. */
  const streams = new Map<string, Stream>();
  const allStreams = new Set<Stream>();

  async function pipeline(body: PipelineReqBody): Promise<PipelineRespBody | undefined> {
    let stream: Stream;
    if (body.baton == null) {
      stream = new Stream(dbPath, busyTimeoutMs);
      allStreams.add(stream);
    } else {
      const found = streams.get(body.baton);
      if (found === undefined) return undefined;
      stream = found;
      streams.delete(body.baton);
      clearTimeout(stream.idleTimer);
    }

    const results: StreamResult[] = [];
    for (const request of body.requests) {
      try {
        results.push({ type: "ok", response: await stream.handle(request) });
      } catch (error) {
        results.push({ type: "error", error: toProtoError(error) });
      }
    }

    let baton: string | null = null;
    if (stream.closed) {
      allStreams.delete(stream);
    } else {
      const next = randomUUID();
      baton = next;
      streams.set(next, stream);
      stream.idleTimer = setTimeout(() => {
        streams.delete(next);
        allStreams.delete(stream);
        stream.close();
      }, streamIdleTimeoutMs);
      stream.idleTimer.unref();
    }
    return { baton, base_url: null, results };
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    if (req.method === "GET" && (path === "/v2" || path === "/health")) {
      send(res, 200, "text/plain", "");
    } else if (req.method === "POST" && path === "/v2/pipeline") {
      const body: unknown = JSON.parse(await readBody(req));
      if (!isPipelineBody(body)) {
        send(res, 400, "text/plain", "Expected a pipeline request body");
        return;
      }
      const response = await pipeline(body);
      if (response === undefined) {
        // As sqld: an unknown baton is an HTTP error, which the client turns into a LibsqlError.
        const error = {
          message: "The stream has expired due to inactivity",
          code: "STREAM_EXPIRED",
        };
        send(res, 400, "application/json", JSON.stringify(error));
      } else {
        send(res, 200, "application/json", JSON.stringify(response));
      }
    } else {
      // Including GET /v3 and /v3-protobuf, so a client that probes settles on v2 JSON.
      send(res, 404, "text/plain", "Not found");
    }
  }

  const server = createServer((req, res) => {
    route(req, res).catch((error: unknown) => {
      if (!res.headersSent) send(res, 500, "text/plain", String(error));
      else res.destroy();
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  const { port: actualPort } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${actualPort}`,
    async close() {
      for (const stream of allStreams) stream.close();
      allStreams.clear();
      streams.clear();
      const closed = new Promise<void>((resolve, reject) =>
        server.close((error) => (error ? reject(error) : resolve())),
      );
      // fetch keeps connections alive; without this close() would wait for them to time out.
      server.closeAllConnections();
      await closed;
    },
  };
}
