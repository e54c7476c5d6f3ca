/**
 * The connection every part of the SQLite catalog shares: one SQLite file in WAL mode, opened by
 * one server process (other processes may open it too, e.g. an admin command; writes wait for
 * each other up to `BUSY_TIMEOUT_MS`). better-sqlite3 is synchronous, so every method does its
 * work inside one call and one transaction; the Promise-returning surface is for the interfaces
 * PostgreSQL shares. Every write runs in an IMMEDIATE transaction: it takes the write lock before
 * reading, so a check-then-write (a one-time token, a duplicate snapshot id) is atomic across
 * processes too. A `write` or `read` inside another runs as a savepoint of the outer one, so a
 * method may call another concept's helpers and stay one transaction.
 */
import { randomBytes } from "node:crypto";
import Sqlite, { type Database, type Statement } from "better-sqlite3";
import { RempartError } from "../../errors.js";
import { migrate } from "./schema.js";

const BUSY_TIMEOUT_MS = 5000;

export class SqliteDb {
  readonly #db: Database;
  readonly #statements = new Map<string, Statement<unknown[], unknown>>();

  private constructor(db: Database) {
    this.#db = db;
  }

  /** Opens the catalog at path, creating the file and bringing its schema up to date. */
  static open(path: string): SqliteDb {
    let db: Database | undefined;
    try {
      db = new Sqlite(path, { timeout: BUSY_TIMEOUT_MS });
      db.pragma("journal_mode = WAL");
      // FULL, not WAL's usual NORMAL: a snapshot the server acknowledged must survive power loss.
      db.pragma("synchronous = FULL");
      db.pragma("foreign_keys = ON");
      db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
      migrate(db);
      return new SqliteDb(db);
    } catch (error) {
      db?.close();
      const translated = translate(error);
      if (translated instanceof RempartError) throw translated;
      throw new RempartError("Io", `cannot open the catalog at ${path}: ${String(error)}`, {
        path,
      });
    }
  }

  close(): void {
    this.#db.close();
  }

  /** Prepared once per connection and reused; the SQL text is the key. */
  statement<Row = unknown>(sql: string): Statement<unknown[], Row> {
    let statement = this.#statements.get(sql);
    if (statement === undefined) {
      statement = this.#db.prepare<unknown[], unknown>(sql);
      this.#statements.set(sql, statement);
    }
    return statement as Statement<unknown[], Row>;
  }

  write<T>(work: () => T): T {
    try {
      return this.#db.transaction(work).immediate();
    } catch (error) {
      throw translate(error);
    }
  }

  /** Several reads that must see one state of the database. */
  read<T>(work: () => T): T {
    return this.#db.transaction(work).deferred();
  }
}

export function newId(): string {
  return randomBytes(8).toString("hex");
}

export const iso = (ms: number): string => new Date(ms).toISOString();

export function notFound(what: string, id: string): never {
  throw new RempartError("NotFound", `no ${what} with id ${id}`, { id });
}

/** SQLite's refusals as RempartErrors; a constraint firing here means a check above was missed. */
function translate(error: unknown): unknown {
  if (!(error instanceof Sqlite.SqliteError)) return error;
  const details = { sqlite: error.code };
  switch (error.code) {
    case "SQLITE_CONSTRAINT_UNIQUE":
    case "SQLITE_CONSTRAINT_PRIMARYKEY":
      return new RempartError("ObjectConflict", `the catalog already holds this record`, details);
    case "SQLITE_CONSTRAINT_FOREIGNKEY":
      return new RempartError("NotFound", "a record this one refers to does not exist", details);
    case "SQLITE_CONSTRAINT_CHECK":
    case "SQLITE_CONSTRAINT_NOTNULL":
      return new RempartError("InvalidArgument", `the catalog refused: ${error.message}`, details);
    case "SQLITE_FULL":
      return new RempartError("StorageFull", "the disk holding the catalog is full", details);
    default:
      return new RempartError("Io", `the catalog database failed: ${error.message}`, details);
  }
}
