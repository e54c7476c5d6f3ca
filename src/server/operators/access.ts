/**
 * Who may call which operator route, as pure decisions. Each route declares the least role it
 * needs and the API token scope that grants it (router.ts); docs/SERVER.md has the matrix.
 * An API token acts for its operator and never beyond them: both its scopes and its operator's
 * role (as it is now, not as it was at creation) must allow the route.
 */
import { type ApiTokenScope, OPERATOR_ROLES, type OperatorRole } from "../../catalog/catalog.js";

/** The least a route needs: a role for an operator, a scope for an API token. */
export interface RouteAccess {
  readonly role: OperatorRole;
  readonly scope: ApiTokenScope;
}

export function roleAllows(role: OperatorRole, needed: OperatorRole): boolean {
  return OPERATOR_ROLES.indexOf(role) >= OPERATOR_ROLES.indexOf(needed);
}

/** Every token reads; the other scopes each add their own routes. */
export function scopesAllow(scopes: readonly ApiTokenScope[], needed: ApiTokenScope): boolean {
  return needed === "read-only" || scopes.includes(needed);
}

/** The role an operator needs to give a token a scope: nobody hands out more than they hold. */
export const SCOPE_ROLE: Readonly<Record<ApiTokenScope, OperatorRole>> = {
  "read-only": "read-only",
  alerts: "technician",
  "tenant-admin": "admin",
};

/** The scopes of `scopes` that `role` may not give; empty when it may give them all. */
export function scopesBeyond(
  role: OperatorRole,
  scopes: readonly ApiTokenScope[],
): ApiTokenScope[] {
  return scopes.filter((scope) => !roleAllows(role, SCOPE_ROLE[scope]));
}
