/**
 * Operators (the MSP's staff), their login sessions, their second factor, the throttle on failed
 * logins and their API tokens: the people, and the automation acting for them, who administer
 * the server.
 */

import { RempartError } from "../errors.js";

/** Least to most: each role may do everything the ones before it may. */
export const OPERATOR_ROLES = ["read-only", "technician", "admin"] as const;
export type OperatorRole = (typeof OPERATOR_ROLES)[number];

/**
 * What an API token may do. Every token may read (list and show); `alerts` adds acknowledging
 * alerts, `tenant-admin` adds the tenant and agent changes.
 */
export const API_TOKEN_SCOPES = ["read-only", "alerts", "tenant-admin"] as const;
export type ApiTokenScope = (typeof API_TOKEN_SCOPES)[number];

/** MSP staff. `passwordHash` is what the caller's KDF produced; the server must never send it out. */
export interface Operator {
  readonly id: string;
  /** Lowercase, `^[a-z0-9][a-z0-9._@-]{0,127}$`, so that two spellings never name one person. */
  readonly username: string;
  readonly passwordHash: string;
  readonly role: OperatorRole;
  readonly createdAt: Date;
  readonly disabled: boolean;
  /** The operator's TOTP, opaque here (the server seals the secret); null: none enrolled. */
  readonly totp: OperatorTotp | null;
  /** A TOTP secret shown at enrolment and not yet confirmed with a code; the active one stands. */
  readonly totpPending: string | null;
}

export interface OperatorTotp {
  readonly secret: string;
  /** The last time step whose code was accepted: a code is good once, and never an older one. */
  readonly lastStep: number;
}

export interface NewOperator {
  readonly username: string;
  readonly passwordHash: string;
  readonly role: OperatorRole;
}

export interface Session {
  readonly tokenHash: string;
  readonly operatorId: string;
  readonly createdAt: Date;
  readonly expiresAt: Date;
  /** Last request made with it (its creation until then), for the idle timeout. */
  readonly lastUsedAt: Date;
  /** Opened with a TOTP code as well as the password. */
  readonly mfa: boolean;
  readonly revoked: boolean;
}

export interface NewSession {
  readonly tokenHash: string;
  readonly operatorId: string;
  readonly expiresAt: Date;
  readonly mfa?: boolean;
}

export interface ValidSession {
  readonly session: Session;
  readonly operator: Operator;
}

/** Failed logins counted under one key (`user:<name>` or `addr:<address>`). */
export interface LoginThrottle {
  readonly key: string;
  readonly failures: number;
  readonly lastFailureAt: Date;
  /** Logins under this key are refused until then; null: not locked. */
  readonly lockedUntil: Date | null;
}

/** What a failure changes: the count and the lock, decided by the caller from the previous state. */
export type LoginFailureDecision = (previous: LoginThrottle | undefined) => {
  readonly failures: number;
  readonly lockedUntil: Date | null;
};

export interface ApiToken {
  readonly id: string;
  readonly name: string;
  readonly tokenHash: string;
  /** Whose role bounds it: a token never does more than its operator may. */
  readonly operatorId: string;
  readonly scopes: readonly ApiTokenScope[];
  readonly createdAt: Date;
  /** null: never expires. */
  readonly expiresAt: Date | null;
  readonly revokedAt: Date | null;
  readonly lastUsedAt: Date | null;
}

export interface NewApiToken {
  readonly name: string;
  readonly tokenHash: string;
  readonly operatorId: string;
  readonly scopes: readonly ApiTokenScope[];
  readonly expiresAt: Date | null;
}

/** Operators, their sessions, second factors, login throttles and API tokens. */
export interface OperatorCatalog {
  createOperator(operator: NewOperator, now: Date): Promise<Operator>;
  getOperator(id: string): Promise<Operator | undefined>;
  getOperatorByUsername(username: string): Promise<Operator | undefined>;
  /** By username. */
  listOperators(): Promise<Operator[]>;
  /** Also ends every session of the operator: a new password means the old ones are suspect. */
  setOperatorPasswordHash(id: string, passwordHash: string): Promise<void>;
  /** Also ends every session of the operator. */
  disableOperator(id: string): Promise<void>;
  /** Takes effect at the operator's next request (sessions and API tokens read the role then). */
  setOperatorRole(id: string, role: OperatorRole): Promise<void>;

  /** Keeps `secret` as the pending TOTP secret (replacing an earlier pending one). */
  setPendingTotp(id: string, secret: string): Promise<void>;
  /**
   * Makes the pending secret the active one, `step` its first used step, and ends every session
   * (they were opened without it). NotFound without a pending secret.
   */
  confirmTotp(id: string, step: number): Promise<void>;
  /** Records `step` as used; false (nothing changed) unless it is later than the last one. */
  useTotpStep(id: string, step: number): Promise<boolean>;
  /** Drops the active and pending secrets (a lost phone) and ends every session. */
  removeTotp(id: string): Promise<void>;

  /** For an enabled operator; `expiresAt` must be after `now`. */
  createSession(session: NewSession, now: Date): Promise<Session>;
  /** The session and its operator, whatever their state (the caller says why it is refused). */
  findSession(tokenHash: string): Promise<ValidSession | undefined>;
  /** Moves `lastUsedAt` to `now`. */
  touchSession(tokenHash: string, now: Date): Promise<void>;
  /** Idempotent; an unknown token is not an error (logging out twice is fine). */
  revokeSession(tokenHash: string): Promise<void>;

  getLoginThrottle(key: string): Promise<LoginThrottle | undefined>;
  /**
   * Counts a failure under `key` as `decide` says, in one write; throttles without a failure nor
   * a lock since `forgetBefore` are dropped on the way.
   */
  recordLoginFailure(
    key: string,
    now: Date,
    forgetBefore: Date,
    decide: LoginFailureDecision,
  ): Promise<LoginThrottle>;
  /** After a good login, or an unlock by an administrator. */
  clearLoginThrottle(key: string): Promise<void>;

  /** For an enabled operator; ObjectConflict for a name the operator already uses. */
  createApiToken(token: NewApiToken, now: Date): Promise<ApiToken>;
  /** The token and its operator, whatever their state. */
  findApiToken(tokenHash: string): Promise<{ token: ApiToken; operator: Operator } | undefined>;
  /** Oldest first. */
  listApiTokens(): Promise<ApiToken[]>;
  /** Answers the token, revoked (at its first revocation); NotFound for an unknown id. */
  revokeApiToken(id: string, now: Date): Promise<ApiToken>;
  touchApiToken(id: string, now: Date): Promise<void>;
}

/** Sorted as `API_TOKEN_SCOPES`, without repeats, at least one: how every catalog stores them. */
export function normalizeApiTokenScopes(scopes: readonly string[]): ApiTokenScope[] {
  const set = new Set(scopes);
  const known = API_TOKEN_SCOPES.filter((scope) => set.has(scope));
  if (!Array.isArray(scopes) || known.length === 0 || known.length !== set.size)
    throw new RempartError(
      "InvalidArgument",
      `scopes must be one or more of ${API_TOKEN_SCOPES.join(", ")}`,
      { field: "scopes", value: scopes },
    );
  return known;
}

const API_TOKEN_NAME = /^[A-Za-z0-9][A-Za-z0-9 ._@-]{0,63}$/;

export function checkApiTokenName(name: string): string {
  if (typeof name !== "string" || !API_TOKEN_NAME.test(name))
    throw new RempartError(
      "InvalidArgument",
      `${JSON.stringify(name)} is not a token name: use 1 to 64 letters, digits, spaces and . _ @ -`,
      { field: "name", value: name },
    );
  return name;
}
