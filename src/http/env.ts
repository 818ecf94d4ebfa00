import type { Principal } from "../services/authenticate.js";

/** What the middleware puts on a request's context. */
export interface AppEnv {
  Variables: {
    /** The authenticated API key's tenant and scopes. */
    principal: Principal;
    /** Whose Idempotency-Key space a write uses: a tenant id, or the operator's. */
    idempotencyScope: string;
    /**
     * What a replay of this answer shows, when it must differ from the answer
     * itself: a secret shown once (an API key) is never stored for replay.
     */
    replayBody: string;
  };
}
