import { Hono } from "hono";
import * as v from "valibot";
import { createKey, withoutSecret } from "../../services/create-key.js";
import type { Deps } from "../../services/deps.js";
import { listKeys } from "../../services/list-keys.js";
import { revokeKey } from "../../services/revoke-key.js";
import { requireScope } from "../auth.js";
import type { AppEnv } from "../env.js";
import { idempotent } from "../idempotency.js";
import { documented } from "../openapi.js";
import { decodeCursor, NextCursor, PageQuery, pageOf } from "../pagination.js";
import { CreatedKeySchema, CreateKeyBody, KeySchema } from "../schemas.js";
import { validate } from "../validate.js";

const KeyList = v.object({ keys: v.array(KeySchema), nextCursor: NextCursor });

/** API keys (docs/design.md §5): create (shown once), list, revoke. */
export function keyRoutes(deps: Deps) {
  const admin = requireScope(deps, "admin");
  return new Hono<AppEnv>()
    .post(
      "/v1/keys",
      documented({
        summary: "Create an API key",
        tag: "Keys",
        auth: "admin",
        status: 201,
        response: CreatedKeySchema,
        description:
          "The key is shown once, in this answer, and stored only as a hash; a replay (same `Idempotency-Key`) answers `key: null`. `admin` includes every other scope. `name` tells keys apart; after `expiresAt` (which must lie in the future) the key is refused with 401.",
      }),
      admin,
      idempotent(deps),
      validate("json", CreateKeyBody),
      async (c) => {
        const { tenant, keyId } = c.var.principal;
        const created = await createKey(deps, tenant.id, c.req.valid("json"), { keyId });
        c.set("replayBody", JSON.stringify(withoutSecret(created)));
        return c.json(created, 201);
      },
    )
    .get(
      "/v1/keys",
      documented({
        summary: "List API keys",
        tag: "Keys",
        auth: "admin",
        response: KeyList,
        description:
          "The tenant's keys, newest first, revoked ones included: id, name, scopes, `createdAt`, `expiresAt`, `lastUsedAt` (recorded at most once a minute per key) and `revokedAt`. Never the secret, nor its hash. Paginated: `limit` and `cursor` → `nextCursor`.",
      }),
      admin,
      validate("query", PageQuery),
      async (c) => {
        const { limit, cursor } = c.req.valid("query");
        const after = decodeCursor(cursor, ["number", "string"]);
        const rows = await listKeys(deps, c.var.principal.tenant.id, { limit, after });
        const page = pageOf(rows, limit, (key) => [Date.parse(key.createdAt), key.id]);
        return c.json({ keys: page.items, nextCursor: page.nextCursor });
      },
    )
    .delete(
      "/v1/keys/:id",
      documented({
        summary: "Revoke an API key",
        tag: "Keys",
        auth: "admin",
        response: KeySchema,
        problems: ["key-not-found", "last-admin-key"],
        description:
          "Revoked at once: the key's next request is refused with 401, and dashboard sessions signed in with it end. Revoking a revoked key answers it unchanged. The tenant's last active admin key cannot be revoked (409 `/problems/last-admin-key`): create another first.",
      }),
      admin,
      idempotent(deps),
      async (c) => {
        const { tenant, keyId } = c.var.principal;
        return c.json(await revokeKey(deps, tenant.id, c.req.param("id"), { keyId }));
      },
    );
}
