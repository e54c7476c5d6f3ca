/**
 * Operators in SQLite: the `operators`, `sessions`, `login_throttles` and `api_tokens` tables.
 */
import { RempartError } from "../../errors.js";
import {
  type ApiToken,
  checkApiTokenName,
  type LoginFailureDecision,
  type LoginThrottle,
  type NewApiToken,
  type NewOperator,
  type NewSession,
  normalizeApiTokenScopes,
  type Operator,
  type OperatorCatalog,
  type OperatorRole,
  type Session,
  type ValidSession,
} from "../operators.js";
import {
  checkExpiry,
  checkPasswordHash,
  checkRole,
  checkSecretHash,
  checkTime,
  checkUsername,
} from "../validation.js";
import { newId, notFound, type SqliteDb } from "./db.js";
import { operatorRow } from "./lookups.js";
import {
  API_TOKEN_COLUMNS,
  type ApiTokenRow,
  LOGIN_THROTTLE_COLUMNS,
  type LoginThrottleRow,
  OPERATOR_COLUMNS,
  type OperatorRow,
  SESSION_COLUMNS,
  type SessionRow,
  toApiToken,
  toLoginThrottle,
  toOperator,
  toSession,
} from "./rows.js";

/** A TOTP time step: a whole number of periods since the epoch. */
function checkStep(step: number): number {
  if (!Number.isSafeInteger(step) || step < 0)
    throw new RempartError("InvalidArgument", "a TOTP step is a non-negative integer", {
      field: "step",
    });
  return step;
}

function checkSecret(secret: string): string {
  if (typeof secret !== "string" || secret.length === 0 || secret.length > 1024)
    throw new RempartError("InvalidArgument", "a sealed TOTP secret is 1 to 1024 characters", {
      field: "secret",
    });
  return secret;
}

export class SqliteOperators implements OperatorCatalog {
  constructor(private readonly db: SqliteDb) {}

  async createOperator(operator: NewOperator, now: Date): Promise<Operator> {
    const row: OperatorRow = {
      id: newId(),
      username: checkUsername(operator.username),
      password_hash: checkPasswordHash(operator.passwordHash),
      role: checkRole(operator.role),
      created_at: checkTime("now", now),
      disabled: 0,
      totp_secret: null,
      totp_last_step: null,
      totp_pending: null,
    };
    return this.db.write(() => {
      if (operatorByUsername(this.db, row.username) !== undefined) {
        throw new RempartError(
          "ObjectConflict",
          `an operator named ${row.username} already exists`,
          { username: row.username },
        );
      }
      this.db
        .statement(
          `INSERT INTO operators (${OPERATOR_COLUMNS})
          VALUES (@id, @username, @password_hash, @role, @created_at, @disabled,
            @totp_secret, @totp_last_step, @totp_pending)`,
        )
        .run(row);
      return toOperator(row);
    });
  }

  async getOperator(id: string): Promise<Operator | undefined> {
    const row = operatorRow(this.db, id);
    return row && toOperator(row);
  }

  async getOperatorByUsername(username: string): Promise<Operator | undefined> {
    const row = operatorByUsername(this.db, username);
    return row && toOperator(row);
  }

  async listOperators(): Promise<Operator[]> {
    return this.db
      .statement<OperatorRow>(`SELECT ${OPERATOR_COLUMNS} FROM operators ORDER BY username`)
      .all()
      .map(toOperator);
  }

  async setOperatorPasswordHash(id: string, passwordHash: string): Promise<void> {
    checkPasswordHash(passwordHash);
    this.db.write(() => {
      operatorRow(this.db, id) ?? notFound("operator", id);
      this.db
        .statement("UPDATE operators SET password_hash = ? WHERE id = ?")
        .run(passwordHash, id);
      revokeSessionsOf(this.db, id);
    });
  }

  async disableOperator(id: string): Promise<void> {
    this.db.write(() => {
      operatorRow(this.db, id) ?? notFound("operator", id);
      this.db.statement("UPDATE operators SET disabled = 1 WHERE id = ?").run(id);
      revokeSessionsOf(this.db, id);
    });
  }

  async setOperatorRole(id: string, role: OperatorRole): Promise<void> {
    checkRole(role);
    this.db.write(() => {
      operatorRow(this.db, id) ?? notFound("operator", id);
      this.db.statement("UPDATE operators SET role = ? WHERE id = ?").run(role, id);
    });
  }

  async setPendingTotp(id: string, secret: string): Promise<void> {
    checkSecret(secret);
    this.db.write(() => {
      operatorRow(this.db, id) ?? notFound("operator", id);
      this.db.statement("UPDATE operators SET totp_pending = ? WHERE id = ?").run(secret, id);
    });
  }

  async confirmTotp(id: string, step: number): Promise<void> {
    checkStep(step);
    this.db.write(() => {
      const row = operatorRow(this.db, id) ?? notFound("operator", id);
      if (row.totp_pending === null)
        throw new RempartError(
          "NotFound",
          `operator ${row.username} has no TOTP enrolment to confirm`,
          {
            reason: "no-pending-totp",
          },
        );
      this.db
        .statement(
          "UPDATE operators SET totp_secret = totp_pending, totp_last_step = ?, totp_pending = NULL WHERE id = ?",
        )
        .run(step, id);
      revokeSessionsOf(this.db, id);
    });
  }

  async useTotpStep(id: string, step: number): Promise<boolean> {
    checkStep(step);
    return this.db.write(
      () =>
        this.db
          .statement(
            "UPDATE operators SET totp_last_step = ? WHERE id = ? AND totp_secret IS NOT NULL AND totp_last_step < ?",
          )
          .run(step, id, step).changes === 1,
    );
  }

  async removeTotp(id: string): Promise<void> {
    this.db.write(() => {
      operatorRow(this.db, id) ?? notFound("operator", id);
      this.db
        .statement(
          "UPDATE operators SET totp_secret = NULL, totp_last_step = NULL, totp_pending = NULL WHERE id = ?",
        )
        .run(id);
      revokeSessionsOf(this.db, id);
    });
  }

  async createSession(session: NewSession, now: Date): Promise<Session> {
    const times = checkExpiry(session.expiresAt, now);
    const row: SessionRow = {
      token_hash: checkSecretHash("tokenHash", session.tokenHash),
      operator_id: session.operatorId,
      created_at: times.now,
      expires_at: times.expiresAt,
      revoked: 0,
      last_used_at: times.now,
      mfa: session.mfa === true ? 1 : 0,
    };
    return this.db.write(() => {
      enabledOperatorRow(this.db, row.operator_id);
      this.db
        .statement(
          `INSERT INTO sessions (${SESSION_COLUMNS})
          VALUES (@token_hash, @operator_id, @created_at, @expires_at, @revoked, @last_used_at, @mfa)`,
        )
        .run(row);
      return toSession(row);
    });
  }

  async findSession(tokenHash: string): Promise<ValidSession | undefined> {
    checkSecretHash("tokenHash", tokenHash);
    const row = this.db
      .statement<SessionRow>(`SELECT ${SESSION_COLUMNS} FROM sessions WHERE token_hash = ?`)
      .get(tokenHash);
    if (row === undefined) return undefined;
    const operator = operatorRow(this.db, row.operator_id) ?? notFound("operator", row.operator_id);
    return { session: toSession(row), operator: toOperator(operator) };
  }

  async touchSession(tokenHash: string, now: Date): Promise<void> {
    checkSecretHash("tokenHash", tokenHash);
    const at = checkTime("now", now);
    this.db.write(() => {
      this.db
        .statement("UPDATE sessions SET last_used_at = ? WHERE token_hash = ?")
        .run(at, tokenHash);
    });
  }

  async revokeSession(tokenHash: string): Promise<void> {
    checkSecretHash("tokenHash", tokenHash);
    this.db.write(() => {
      this.db.statement("UPDATE sessions SET revoked = 1 WHERE token_hash = ?").run(tokenHash);
    });
  }

  async getLoginThrottle(key: string): Promise<LoginThrottle | undefined> {
    const row = throttleRow(this.db, checkThrottleKey(key));
    return row && toLoginThrottle(row);
  }

  async recordLoginFailure(
    key: string,
    now: Date,
    forgetBefore: Date,
    decide: LoginFailureDecision,
  ): Promise<LoginThrottle> {
    checkThrottleKey(key);
    const at = checkTime("now", now);
    const forget = checkTime("forgetBefore", forgetBefore);
    return this.db.write(() => {
      // Keeps the table as small as the failures of the last window, whoever sends them.
      this.db
        .statement(
          "DELETE FROM login_throttles WHERE last_failure_at < @forget AND (locked_until IS NULL OR locked_until < @at)",
        )
        .run({ forget, at });
      const previous = throttleRow(this.db, key);
      const decided = decide(previous && toLoginThrottle(previous));
      const row: LoginThrottleRow = {
        key,
        failures: decided.failures,
        last_failure_at: at,
        locked_until:
          decided.lockedUntil === null ? null : checkTime("lockedUntil", decided.lockedUntil),
      };
      this.db
        .statement(
          `INSERT INTO login_throttles (${LOGIN_THROTTLE_COLUMNS})
          VALUES (@key, @failures, @last_failure_at, @locked_until)
          ON CONFLICT (key) DO UPDATE SET failures = excluded.failures,
            last_failure_at = excluded.last_failure_at, locked_until = excluded.locked_until`,
        )
        .run(row);
      return toLoginThrottle(row);
    });
  }

  async clearLoginThrottle(key: string): Promise<void> {
    checkThrottleKey(key);
    this.db.write(() => {
      this.db.statement("DELETE FROM login_throttles WHERE key = ?").run(key);
    });
  }

  async createApiToken(token: NewApiToken, now: Date): Promise<ApiToken> {
    const row: ApiTokenRow = {
      id: newId(),
      name: checkApiTokenName(token.name),
      token_hash: checkSecretHash("tokenHash", token.tokenHash),
      operator_id: token.operatorId,
      scopes: normalizeApiTokenScopes(token.scopes).join(","),
      created_at: checkTime("now", now),
      expires_at: token.expiresAt === null ? null : checkExpiry(token.expiresAt, now).expiresAt,
      revoked_at: null,
      last_used_at: null,
    };
    return this.db.write(() => {
      const operator = enabledOperatorRow(this.db, row.operator_id);
      const taken = this.db
        .statement<{ id: string }>("SELECT id FROM api_tokens WHERE operator_id = ? AND name = ?")
        .get(row.operator_id, row.name);
      if (taken !== undefined)
        throw new RempartError(
          "ObjectConflict",
          `operator ${operator.username} already has a token named ${row.name}`,
          { name: row.name },
        );
      this.db
        .statement(
          `INSERT INTO api_tokens (${API_TOKEN_COLUMNS})
          VALUES (@id, @name, @token_hash, @operator_id, @scopes, @created_at, @expires_at,
            @revoked_at, @last_used_at)`,
        )
        .run(row);
      return toApiToken(row);
    });
  }

  async findApiToken(
    tokenHash: string,
  ): Promise<{ token: ApiToken; operator: Operator } | undefined> {
    checkSecretHash("tokenHash", tokenHash);
    const row = this.db
      .statement<ApiTokenRow>(`SELECT ${API_TOKEN_COLUMNS} FROM api_tokens WHERE token_hash = ?`)
      .get(tokenHash);
    if (row === undefined) return undefined;
    const operator = operatorRow(this.db, row.operator_id) ?? notFound("operator", row.operator_id);
    return { token: toApiToken(row), operator: toOperator(operator) };
  }

  async listApiTokens(): Promise<ApiToken[]> {
    return this.db
      .statement<ApiTokenRow>(`SELECT ${API_TOKEN_COLUMNS} FROM api_tokens ORDER BY created_at, id`)
      .all()
      .map(toApiToken);
  }

  async revokeApiToken(id: string, now: Date): Promise<ApiToken> {
    const at = checkTime("now", now);
    return this.db.write(() => {
      this.db
        .statement("UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")
        .run(at, id);
      const row =
        this.db
          .statement<ApiTokenRow>(`SELECT ${API_TOKEN_COLUMNS} FROM api_tokens WHERE id = ?`)
          .get(id) ?? notFound("API token", id);
      return toApiToken(row);
    });
  }

  async touchApiToken(id: string, now: Date): Promise<void> {
    const at = checkTime("now", now);
    this.db.write(() => {
      this.db.statement("UPDATE api_tokens SET last_used_at = ? WHERE id = ?").run(at, id);
    });
  }
}

/** `user:<name>` or `addr:<address>`, bounded: the key is what a stranger typed. */
function checkThrottleKey(key: string): string {
  if (typeof key !== "string" || key.length === 0 || key.length > 200)
    throw new RempartError("InvalidArgument", "a login throttle key is 1 to 200 characters", {
      field: "key",
    });
  return key;
}

function throttleRow(db: SqliteDb, key: string): LoginThrottleRow | undefined {
  return db
    .statement<LoginThrottleRow>(
      `SELECT ${LOGIN_THROTTLE_COLUMNS} FROM login_throttles WHERE key = ?`,
    )
    .get(key);
}

/** A new credential is only ever issued to an operator who exists and is enabled. */
function enabledOperatorRow(db: SqliteDb, id: string): OperatorRow {
  const operator = operatorRow(db, id) ?? notFound("operator", id);
  if (operator.disabled === 1)
    throw new RempartError("InvalidArgument", `operator ${operator.username} is disabled`, {
      reason: "operator-disabled",
    });
  return operator;
}

function operatorByUsername(db: SqliteDb, username: string): OperatorRow | undefined {
  return db
    .statement<OperatorRow>(`SELECT ${OPERATOR_COLUMNS} FROM operators WHERE username = ?`)
    .get(username);
}

function revokeSessionsOf(db: SqliteDb, operatorId: string): void {
  db.statement("UPDATE sessions SET revoked = 1 WHERE operator_id = ?").run(operatorId);
}
