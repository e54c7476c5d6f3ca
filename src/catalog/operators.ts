/** Operators (the MSP's staff) and their login sessions: the people who administer the server. */

export const OPERATOR_ROLES = ["admin", "technician"] as const;
export type OperatorRole = (typeof OPERATOR_ROLES)[number];

/** MSP staff. `passwordHash` is what the caller's KDF produced; the server must never send it out. */
export interface Operator {
  readonly id: string;
  /** Lowercase, `^[a-z0-9][a-z0-9._@-]{0,127}$`, so that two spellings never name one person. */
  readonly username: string;
  readonly passwordHash: string;
  readonly role: OperatorRole;
  readonly createdAt: Date;
  readonly disabled: boolean;
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
  readonly revoked: boolean;
}

export interface NewSession {
  readonly tokenHash: string;
  readonly operatorId: string;
  readonly expiresAt: Date;
}

export interface ValidSession {
  readonly session: Session;
  readonly operator: Operator;
}

/** Operators and their sessions. */
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

  /** For an enabled operator; `expiresAt` must be after `now`. */
  createSession(session: NewSession, now: Date): Promise<Session>;
  /** The session and its operator while unrevoked, `now < expiresAt` and the operator is enabled. */
  findValidSession(tokenHash: string, now: Date): Promise<ValidSession | undefined>;
  /** Idempotent; an unknown token is not an error (logging out twice is fine). */
  revokeSession(tokenHash: string): Promise<void>;
}
