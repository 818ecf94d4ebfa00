import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";

/** A webhook a receiver got, verified with the Standard Webhooks library. */
export interface Received {
  id: string;
  body: { type: string; timestamp: string; data: Record<string, unknown> };
  raw: string;
  verified: boolean;
  at: number;
}

/**
 * A local receiver, as a tenant's CRM would run it: it verifies each
 * request's signature with the `standardwebhooks` package (the same library
 * the gateway signs with, used the receiver's way) and answers as `answer`
 * says (200 unless told otherwise).
 */
export async function startReceiver() {
  const received: Received[] = [];
  let secret = "";
  let answer: (req: IncomingMessage) => number | Promise<number> = () => 200;
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString("utf8");
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (typeof value === "string") headers[name] = value;
    }
    let verified = false;
    let body: Received["body"] = { type: "", timestamp: "", data: {} };
    try {
      body = new Webhook(secret).verify(raw, headers) as Received["body"];
      verified = true;
    } catch {
      verified = false;
    }
    received.push({ id: headers["webhook-id"] ?? "", body, raw, verified, at: Date.now() });
    const status = await answer(req);
    res.writeHead(status, { "content-type": "text/plain" });
    res.end(status < 300 ? "ok" : "no");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/grounds-hook`,
    received,
    setSecret(value: string) {
      secret = value;
    },
    answerWith(fn: typeof answer) {
      answer = fn;
    },
    /** Waits (up to `ms`) until `count` requests arrived. */
    async waitFor(count: number, ms = 15_000): Promise<Received[]> {
      const until = Date.now() + ms;
      while (received.length < count && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 25));
      }
      return received;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
