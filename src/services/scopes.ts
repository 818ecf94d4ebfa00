/** API key scopes (docs/design.md §2). `admin` includes every other scope. */
export const SCOPES = ["send", "evidence:write", "compliance:read", "admin"] as const;
export type Scope = (typeof SCOPES)[number];

export function allows(granted: readonly string[], needed: Scope): boolean {
  return granted.includes(needed) || granted.includes("admin");
}
