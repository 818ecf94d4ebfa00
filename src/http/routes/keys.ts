import { Hono } from "hono";
import { createKey, withoutSecret } from "../../services/create-key.js";
import type { Deps } from "../../services/deps.js";
import { requireScope } from "../auth.js";
import type { AppEnv } from "../env.js";
import { idempotent } from "../idempotency.js";
import { documented } from "../openapi.js";
import { CreateKeyBody } from "../schemas.js";
import { validate } from "../validate.js";

export function keyRoutes(deps: Deps) {
  return new Hono<AppEnv>().post(
    "/v1/keys",
    documented({
      summary: "Create an API key",
      tag: "Keys",
      auth: "admin",
      status: 201,
      description:
        "The key is shown once, in this answer, and stored only as a hash; a replay (same `Idempotency-Key`) answers `key: null`. `admin` includes every other scope.",
    }),
    requireScope(deps, "admin"),
    idempotent(deps),
    validate("json", CreateKeyBody),
    async (c) => {
      const created = await createKey(deps, c.var.principal.tenant.id, c.req.valid("json"));
      c.set("replayBody", JSON.stringify(withoutSecret(created)));
      return c.json(created, 201);
    },
  );
}
