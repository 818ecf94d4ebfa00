import { Hono } from "hono";
import { withoutSecret } from "../../services/create-key.js";
import { createTenant } from "../../services/create-tenant.js";
import type { Deps } from "../../services/deps.js";
import { requireOperator } from "../auth.js";
import type { AppEnv } from "../env.js";
import { idempotent } from "../idempotency.js";
import { documented } from "../openapi.js";
import { CreateTenantBody } from "../schemas.js";
import { validate } from "../validate.js";

export function tenantRoutes(deps: Deps) {
  return new Hono<AppEnv>().post(
    "/v1/tenants",
    documented({
      summary: "Create a tenant and its first admin key",
      tag: "Tenants",
      auth: "operator",
      status: 201,
      description:
        "The admin key is shown once, in this answer, and stored only as a hash. A replay (same `Idempotency-Key`) answers the same tenant and key id with `key: null`.",
    }),
    requireOperator(deps),
    idempotent(deps),
    validate("json", CreateTenantBody),
    async (c) => {
      const created = await createTenant(deps, c.req.valid("json"));
      c.set(
        "replayBody",
        JSON.stringify({ ...created, adminKey: withoutSecret(created.adminKey) }),
      );
      return c.json(created, 201);
    },
  );
}
