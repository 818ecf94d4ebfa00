import * as v from "valibot";

/**
 * Configuration from the environment (docs/design.md §5), read once at start and
 * passed on. The embedded default needs none of it.
 */
const ConfigSchema = v.object({
  PORT: v.optional(
    v.pipe(v.string(), v.toNumber(), v.integer(), v.minValue(0), v.maxValue(65535)),
    "8787",
  ),
  DATABASE_URL: v.optional(v.pipe(v.string(), v.nonEmpty()), "file:./data/grounds.db"),
  DATABASE_AUTH_TOKEN: v.optional(v.string()),
  PUBLIC_URL: v.optional(v.pipe(v.string(), v.url())),
  GROUNDS_OPERATOR_TOKEN: v.optional(v.pipe(v.string(), v.minLength(16, "at least 16 characters"))),
  GROUNDS_SECRET: v.optional(v.pipe(v.string(), v.minLength(32, "at least 32 characters"))),
  SENDGRID_API_KEY: v.optional(v.string()),
  SENDGRID_API_URL: v.optional(v.pipe(v.string(), v.url()), "https://api.sendgrid.com"),
  TRUSTED_PROXIES: v.optional(v.string()),
  TSA_URL: v.optional(v.pipe(v.string(), v.url())),
});

export type Config = {
  port: number;
  databaseUrl: string;
  databaseAuthToken: string | undefined;
  publicUrl: string;
  operatorToken: string | undefined;
  secret: string | undefined;
  sendgridApiKey: string | undefined;
  sendgridApiUrl: string;
  /**
   * The reverse proxies in front of the Node gateway (addresses, CIDR ranges,
   * or `loopback`, `linklocal`, `uniquelocal`): a request through one of them
   * is from the address it names in `X-Forwarded-For`. None by default: the
   * header is then ignored, so a client cannot choose its own address.
   */
  trustedProxies: string[];
  /** The RFC 3161 time-stamping authority that anchors checkpoints (docs/design.md §6); unset: none. */
  tsaUrl: string | undefined;
};

export function readConfig(env: Record<string, string | undefined>): Config {
  const present = Object.fromEntries(
    Object.entries(env).filter(([, value]) => value !== undefined && value !== ""),
  );
  const result = v.safeParse(ConfigSchema, present);
  if (!result.success) {
    const problems = result.issues.map(
      (issue) =>
        `${v.getDotPath(issue) ?? "?"}: ${issue.message.replace(/:\s*Received\s.*$/s, "")}`,
    );
    throw new Error(`Invalid configuration: ${problems.join("; ")}`);
  }
  const c = result.output;
  return {
    port: c.PORT,
    databaseUrl: c.DATABASE_URL,
    databaseAuthToken: c.DATABASE_AUTH_TOKEN,
    // Unset: the gateway on this machine, on the port it listens on, so the
    // links in mail and pages work when PORT alone is changed.
    publicUrl: (c.PUBLIC_URL ?? `http://localhost:${c.PORT}`).replace(/\/$/, ""),
    operatorToken: c.GROUNDS_OPERATOR_TOKEN,
    secret: c.GROUNDS_SECRET,
    sendgridApiKey: c.SENDGRID_API_KEY,
    sendgridApiUrl: c.SENDGRID_API_URL.replace(/\/$/, ""),
    trustedProxies: (c.TRUSTED_PROXIES ?? "")
      .split(",")
      .map((proxy) => proxy.trim())
      .filter((proxy) => proxy !== ""),
    tsaUrl: c.TSA_URL,
  };
}
