/** Operators and their sessions in SQLite: the `operators` and `sessions` tables. */
import { RempartError } from "../../errors.js";
import type {
  NewOperator,
  NewSession,
  Operator,
  OperatorCatalog,
  Session,
  ValidSession,
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
  OPERATOR_COLUMNS,
  type OperatorRow,
  SESSION_COLUMNS,
  type SessionRow,
  toOperator,
  toSession,
} from "./rows.js";

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
          VALUES (@id, @username, @password_hash, @role, @created_at, @disabled)`,
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

  async createSession(session: NewSession, now: Date): Promise<Session> {
    const times = checkExpiry(session.expiresAt, now);
    const row: SessionRow = {
      token_hash: checkSecretHash("tokenHash", session.tokenHash),
      operator_id: session.operatorId,
      created_at: times.now,
      expires_at: times.expiresAt,
      revoked: 0,
    };
    return this.db.write(() => {
      const operator =
        operatorRow(this.db, row.operator_id) ?? notFound("operator", row.operator_id);
      if (operator.disabled === 1) {
        throw new RempartError("InvalidArgument", `operator ${operator.username} is disabled`, {
          reason: "operator-disabled",
        });
      }
      this.db
        .statement(
          `INSERT INTO sessions (${SESSION_COLUMNS})
          VALUES (@token_hash, @operator_id, @created_at, @expires_at, @revoked)`,
        )
        .run(row);
      return toSession(row);
    });
  }

  async findValidSession(tokenHash: string, now: Date): Promise<ValidSession | undefined> {
    checkSecretHash("tokenHash", tokenHash);
    const at = checkTime("now", now);
    const row = this.db
      .statement<SessionRow>(
        `SELECT ${SESSION_COLUMNS} FROM sessions
        WHERE token_hash = ? AND revoked = 0 AND expires_at > ?`,
      )
      .get(tokenHash, at);
    if (row === undefined) return undefined;
    const operator = operatorRow(this.db, row.operator_id);
    if (operator === undefined || operator.disabled === 1) return undefined;
    return { session: toSession(row), operator: toOperator(operator) };
  }

  async revokeSession(tokenHash: string): Promise<void> {
    checkSecretHash("tokenHash", tokenHash);
    this.db.write(() => {
      this.db.statement("UPDATE sessions SET revoked = 1 WHERE token_hash = ?").run(tokenHash);
    });
  }
}

function operatorByUsername(db: SqliteDb, username: string): OperatorRow | undefined {
  return db
    .statement<OperatorRow>(`SELECT ${OPERATOR_COLUMNS} FROM operators WHERE username = ?`)
    .get(username);
}

function revokeSessionsOf(db: SqliteDb, operatorId: string): void {
  db.statement("UPDATE sessions SET revoked = 1 WHERE operator_id = ?").run(operatorId);
}
