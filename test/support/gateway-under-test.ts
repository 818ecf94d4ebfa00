/**
 * What an HTTP behaviour test needs from a running gateway, whichever runtime it is in: the Node
 * harness (test/support/gateway.ts, the app's fetch handler in-process) or the Workers harness
 * (test/support/worker.ts, the bundled Worker in workerd over real HTTP). A test written against
 * this interface can run against both.
 */

/** `fetch`'s init plus the two shorthands the HTTP tests use. */
export type GatewayRequestInit = RequestInit & {
  /** Sent as the JSON body, with `content-type: application/json`. */
  json?: unknown;
  /** Sent as `Authorization: Bearer <key>`. */
  key?: string;
  /**
   * The client's IP address, as each runtime learns it: on Node the socket's peer, on Workers
   * Cloudflare's `CF-Connecting-IP` header. Unset: whatever the harness gives.
   */
  clientIp?: string;
};

export interface GatewayUnderTest {
  /** Which runtime answers: `node` (in-process Hono app) or `workerd` (the Worker bundle). */
  readonly runtime: "node" | "workerd";
  /** The libSQL file the gateway stores into; another gateway may open it too. */
  readonly dbPath: string;
  /**
   * The gateway's clock, for times relative to its now (`ago()` in test/http/helpers.ts). The
   * Node harness's can be moved (`set`, `advance`); workerd's is the real one, so a test that
   * moves the clock is Node-only.
   */
  clock(): number;
  /**
   * Sends a request to the gateway. `path` is the path and query, e.g. `/v1/topics?x=1`.
   * Answers a WHATWG `Response` (Node's global one) in both runtimes.
   */
  request(path: string, init?: GatewayRequestInit): Promise<Response>;
  /** Stops the gateway and releases what it holds; the database file stays unless said. */
  stop(): Promise<void>;
}

/**
 * The `Request` both harnesses send: `json` becomes the body and its content type, `key` the
 * bearer token; every other `RequestInit` field passes through unchanged. `clientIp` is the
 * harness's to give (Node: the socket; workerd: `CF-Connecting-IP`).
 */
export function gatewayRequest(base: string, path: string, init: GatewayRequestInit = {}): Request {
  const { json, key, clientIp: _clientIp, headers: initHeaders, body: initBody, ...rest } = init;
  const headers = new Headers(initHeaders);
  if (key) headers.set("authorization", `Bearer ${key}`);
  let body = initBody ?? null;
  if (json !== undefined) {
    headers.set("content-type", "application/json");
    body = JSON.stringify(json);
  }
  return new Request(new URL(path, base), { ...rest, headers, body });
}
