import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/**
 * A real RFC 3161 time-stamping authority for tests: a throwaway CA and a
 * TSA certificate (extendedKeyUsage=critical,timeStamping) made here, and
 * `openssl ts -reply` behind a small HTTP server (RFC 3161 §3.4:
 * `application/timestamp-query` in, `application/timestamp-reply` out).
 * `verify` checks a kept token with `openssl ts -verify` against the CA.
 */
export interface TestTsa {
  url: string;
  /** How many requests it answered. */
  readonly answered: number;
  /** Makes the next answers fail with this HTTP status (0: answer again). */
  failWith(status: number): void;
  /** `openssl ts -verify` of a token (DER) against SHA-256 `digestHex`; its output. */
  verify(token: Uint8Array, digestHex: string): Promise<{ ok: boolean; output: string }>;
  stop(): Promise<void>;
}

export async function startTestTsa(): Promise<TestTsa> {
  const dir = mkdtempSync(join(tmpdir(), "grounds-tsa-"));
  const at = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => run("openssl", args, { cwd: dir });
  await openssl(
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "ca.key",
    "-out",
    "ca.crt",
    "-subj",
    "/CN=Grounds test CA",
    "-days",
    "2",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign",
  );
  await openssl(
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "tsa.key",
    "-out",
    "tsa.csr",
    "-subj",
    "/CN=Grounds test TSA",
  );
  writeFileSync(at("ext.cnf"), "extendedKeyUsage=critical,timeStamping\n");
  await openssl(
    "x509",
    "-req",
    "-in",
    "tsa.csr",
    "-CA",
    "ca.crt",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "tsa.crt",
    "-days",
    "2",
    "-extfile",
    "ext.cnf",
  );
  writeFileSync(at("serial"), "01\n");
  writeFileSync(
    at("tsa.cnf"),
    [
      "[ tsa ]",
      "default_tsa = grounds_test",
      "[ grounds_test ]",
      `dir = ${dir}`,
      "serial = $dir/serial",
      "crypto_device = builtin",
      "signer_cert = $dir/tsa.crt",
      "signer_key = $dir/tsa.key",
      "signer_digest = sha256",
      "default_policy = 1.3.6.1.4.1.99999.1",
      "digests = sha256",
      "accuracy = secs:1",
      "ordering = yes",
      "tsa_name = yes",
      "ess_cert_id_chain = no",
      "ess_cert_id_alg = sha256",
      "",
    ].join("\n"),
  );

  let answered = 0;
  let failing = 0;
  let requests = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      void (async () => {
        if (failing) {
          res.writeHead(failing).end();
          return;
        }
        if (
          req.method !== "POST" ||
          req.headers["content-type"] !== "application/timestamp-query"
        ) {
          res.writeHead(400).end();
          return;
        }
        requests += 1;
        const query = at(`q${requests}.tsq`);
        const reply = at(`r${requests}.tsr`);
        writeFileSync(query, Buffer.concat(chunks));
        try {
          await openssl("ts", "-reply", "-queryfile", query, "-config", "tsa.cnf", "-out", reply);
          answered += 1;
          res
            .writeHead(200, { "content-type": "application/timestamp-reply" })
            .end(readFileSync(reply));
        } catch {
          res.writeHead(500).end();
        }
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    get answered() {
      return answered;
    },
    failWith(status) {
      failing = status;
    },
    async verify(token, digestHex) {
      const file = at(`verify-${Date.now()}-${Math.random()}.der`);
      writeFileSync(file, token);
      try {
        const { stdout, stderr } = await openssl(
          "ts",
          "-verify",
          "-digest",
          digestHex,
          "-in",
          file,
          "-token_in",
          "-CAfile",
          "ca.crt",
          "-untrusted",
          "tsa.crt",
        );
        return { ok: /Verification: OK/.test(stdout + stderr), output: stdout + stderr };
      } catch (error) {
        const { stdout = "", stderr = "" } = error as { stdout?: string; stderr?: string };
        return { ok: false, output: stdout + stderr };
      }
    },
    async stop() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
