/**
 * `rempart demo`: the whole story of issue 10 on 127.0.0.1, in a temporary folder, with the
 * product's own code paths — a real server process (embedded defaults, self-signed TLS), a
 * tenant and an enrollment over its API, the agent's backups and restore as `rempart` runs —
 * and a real attack (AES-256, renames, ransom notes) on the demo's own copy of an office share.
 *
 * Each step is told through `narrate` (only src/cli prints) and checked: a step that does not
 * hold ends the demo with a `DemoFailed`, so `rempart demo` exits 0 only when the whole story
 * did. Whatever happens, `close` stops the server and removes the folder (unless kept);
 * `abandon` does it at once for Ctrl-C.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { mkdir, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseAgentConfig } from "../agent/config.js";
import { RempartError } from "../errors.js";
import type {
  Alert,
  AlertPage,
  EnrollTokenResponse,
  LoginResponse,
  ObjectListing,
  TenantDetails,
} from "../protocol/api.js";
import { PinnedClient } from "../storage/http/pinned-client.js";
import { RANSOM_EXTENSION, RANSOM_NOTE, runCryptolocker } from "./cryptolocker.js";
import {
  type RempartCommand,
  type RunResult,
  runRempart,
  ServerChild,
  type ServerStarted,
} from "./processes.js";
import { docx, pdf, prose } from "./sample-files.js";
import { hashFiles, officeFiles, writeFiles } from "./sample-tree.js";

export interface DemoStep {
  readonly step: number;
  readonly title: string;
  /** what happened, in plain words */
  readonly happened: readonly string[];
  /** why it matters to the MSP */
  readonly why: string;
}

export interface DemoOptions {
  /** how to run `rempart` itself (this process's node and script) */
  readonly command: RempartCommand;
  readonly narrate: (step: DemoStep) => void;
  /** keep the folder at the end (it is named in the first step) */
  readonly keep?: boolean;
}

/** A step of the story did not hold: the message says which and what was seen. */
export class DemoFailed extends RempartError {
  constructor(message: string) {
    super("Io", message);
  }
}

const TENANT = "acme-dental";

interface Detected {
  readonly verdict: string;
  readonly score: number;
  readonly reasons: readonly string[];
}

/** The demo's enrolled machine: its share, its commands' environment, its credential. */
interface EnrolledAgent {
  readonly share: string;
  readonly env: Readonly<Record<string, string>>;
  readonly credential: string;
}

/** The share as it was on Tuesday evening, before the attack, and Tuesday's snapshot. */
interface NormalWeek {
  readonly names: readonly string[];
  readonly goodHashes: ReadonlyMap<string, string>;
  readonly tuesday: Backup;
}

interface Backup {
  readonly id: string;
  readonly files: { readonly new: number; readonly changed: number; readonly unchanged: number };
  readonly detection: Detected | undefined;
}

function hold(condition: boolean, message: string): asserts condition {
  if (!condition) throw new DemoFailed(message);
}

const short = (id: string) => id.slice(0, 12);

export class Demo {
  readonly folder: string;
  private readonly aborter = new AbortController();
  private server: ServerChild | undefined;
  private step = 0;
  private closed = false;

  constructor(private readonly options: DemoOptions) {
    this.folder = mkdtempSync(join(tmpdir(), "rempart-demo-"));
  }

  /** Plays the story; throws `DemoFailed` at the first step that does not hold. */
  async run(): Promise<void> {
    const server = await this.startServer();
    const token = await this.createTenant(server);
    const agent = await this.enroll(server, token);
    const week = await this.normalWeek(agent);
    await this.attack(agent.share, week.names);
    const wednesday = await this.judgedBackup(agent);
    await this.serverResponse(server, wednesday.id, week.tuesday.id);
    await this.appendOnly(server, agent.credential, week.tuesday.id);
    await this.restoreHeld(agent, week);
  }

  /** 1. `rempart server` on a fresh data directory. */
  private async startServer(): Promise<ServerStarted> {
    this.server = await ServerChild.start(this.options.command, join(this.folder, "server"));
    const { url, fingerprint } = this.server.info;
    this.tell(
      "Start a Rempart server",
      [
        `working folder: ${this.folder}`,
        `server listening on ${url} (127.0.0.1 only, a port the system picked)`,
        `it made itself a self-signed TLS certificate; fingerprint ${fingerprint.slice(0, 23)}…`,
        "and a first admin login, whose password it printed once",
      ],
      "This is the box at your MSP. Agents talk to it over HTTPS only, pinned to that fingerprint, so nobody can stand in between.",
    );
    return this.server.info;
  }

  /** 2. A tenant, and a one-time enrollment token for its first machine. */
  private async createTenant({ url, fingerprint, adminPassword }: ServerStarted): Promise<string> {
    const operator = await this.operatorSession(url, fingerprint, adminPassword);
    let token: string;
    try {
      await operator.json("POST", "/v1/tenants", { name: TENANT, retention_days: 30 }, false);
      token = (
        await operator.json<EnrollTokenResponse>(
          "POST",
          `/v1/tenants/${TENANT}/enroll-tokens`,
          { expires_in_seconds: 600 },
          false,
        )
      ).token;
    } finally {
      operator.close();
    }
    this.tell(
      "Create a tenant for a client",
      [
        `tenant "${TENANT}" created (retention 30 days)`,
        "a one-time enrollment token issued for its first machine (valid 10 minutes)",
      ],
      "Each client is a tenant: its own encrypted repository, quota and retention, isolated from the others.",
    );
    return token;
  }

  /** 3. `rempart agent enroll`, backing up the demo's share. */
  private async enroll({ url, fingerprint }: ServerStarted, token: string): Promise<EnrolledAgent> {
    const share = join(this.folder, "share");
    const configPath = join(this.folder, "agent", "agent.json");
    // The agent spools packs in its temporary directory (kept between runs): the demo's own.
    const spool = join(this.folder, "tmp");
    await mkdir(spool);
    const env = { REMPART_AGENT_CONFIG: configPath, TMPDIR: spool };
    const password = randomBytes(18).toString("base64url");
    await mkdir(share, { recursive: true });
    await this.rempart(
      "enroll the agent",
      [
        "agent",
        "enroll",
        "--server",
        url,
        "--token",
        token,
        "--fingerprint",
        fingerprint,
        "--path",
        share,
      ],
      { ...env, REMPART_PASSWORD: password },
    );
    const agent = parseAgentConfig(JSON.parse(await readFile(configPath, "utf8")), configPath);
    this.tell(
      "Enroll the client's file server as an agent",
      [
        `agent ${agent.agentId} enrolled (the client's file server; here, this machine), backing up ${share}`,
        "it created the client's repository on the server, encrypted with a password that stays on the client",
        "its credential can add backups; it cannot delete or change anything already stored",
      ],
      "The server stores data it cannot read. A stolen server disk gives away nothing.",
    );
    return { share, env, credential: agent.credential };
  }

  /** 4 and 5. Monday's first backup, and Tuesday's normal day: the last good state. */
  private async normalWeek({ share, env }: EnrolledAgent): Promise<NormalWeek> {
    const files = officeFiles();
    await writeFiles(share, files);
    const monday = await this.backup(share, env);
    this.tell(
      "Monday night: the first backup",
      [
        `the share holds ${files.size} office files: ${describeTypes([...files.keys()])}`,
        `snapshot ${short(monday.id)}: ${monday.files.new} files backed up`,
        `verdict ${verdictLine(monday.detection)} (a first backup has nothing to compare with)`,
      ],
      "From now on, every backup is compared with the one before it.",
    );

    // 5. Tuesday: a normal office day.
    const tuesdayWork = new Map<string, Buffer>([
      ["letters/letter-2.docx", docx("letter 2, revised", 9)],
      ["letters/letter-5.docx", docx("letter 5, revised", 8)],
      ["finance/invoice-5.pdf", pdf("invoice 5", 20)],
      ["notes/meeting-3.txt", Buffer.from(prose("meeting 3", 5000))],
    ]);
    const tuesdayNames = await writeFiles(share, tuesdayWork);
    const names = [...new Set([...files.keys(), ...tuesdayNames])].sort();
    const goodHashes = await hashFiles(share, names);
    const tuesday = await this.backup(share, env);
    hold(
      tuesday.detection?.verdict === "ok",
      `a normal office day was judged ${verdictLine(tuesday.detection)}`,
    );
    this.tell(
      "Tuesday: a normal office day",
      [
        "two letters revised, an invoice and meeting notes added",
        `snapshot ${short(tuesday.id)}: ${tuesday.files.new} new, ${tuesday.files.changed} changed, ${tuesday.files.unchanged} unchanged`,
        `verdict ${verdictLine(tuesday.detection)}`,
      ],
      "Normal work is not an alarm: each machine's own normal day is its baseline.",
    );
    return { names, goodHashes, tuesday };
  }

  /** 6. The cryptolocker, on every file of the share. */
  private async attack(share: string, names: readonly string[]): Promise<void> {
    const attack = await runCryptolocker(share, names);
    const sample = readdirSync(join(share, "finance")).sort().slice(0, 4);
    this.tell(
      "Wednesday night: a cryptolocker hits the share",
      [
        `${attack.encrypted} files encrypted with AES-256 (${formatKiB(attack.bytes)}); the key is gone with the attacker`,
        `each renamed to ${RANSOM_EXTENSION} and the original deleted; a ${RANSOM_NOTE} left in ${attack.notes} folders`,
        `finance/ now holds: ${sample.join(", ")}, …`,
      ],
      "This is what the client finds on Thursday morning. Only a backup from before the attack can bring the files back.",
    );
  }

  /** 7. The next backup, and its verdict. */
  private async judgedBackup({ share, env }: EnrolledAgent): Promise<Backup> {
    const wednesday = await this.backup(share, env);
    const verdict = wednesday.detection;
    hold(
      verdict !== undefined && verdict.verdict !== "ok",
      `the attacked share was judged ${verdictLine(verdict)}`,
    );
    this.tell(
      "The next backup runs and judges what changed",
      [
        `snapshot ${short(wednesday.id)}: ${wednesday.files.new} new files, ${wednesday.files.changed} changed`,
        `verdict ${verdictLine(verdict)}`,
        ...verdict.reasons.map((reason) => `  because ${reason}`),
      ],
      "The agent sees the files as it reads them: content that is no longer what its name claims, renames, ransom notes. The server only learns counts, never file names.",
    );
    return wednesday;
  }

  /** 8. The server's response: an alert, the tenant red, the last good snapshot held. */
  private async serverResponse(
    { url, fingerprint, adminPassword }: ServerStarted,
    flagged: string,
    lastGood: string,
  ): Promise<void> {
    const watcher = await this.operatorSession(url, fingerprint, adminPassword);
    let alerts: readonly Alert[];
    let tenant: TenantDetails;
    try {
      alerts = (
        await watcher.json<AlertPage>("GET", `/v1/alerts?tenant=${TENANT}`, undefined, true)
      ).alerts;
      tenant = await watcher.json<TenantDetails>("GET", `/v1/tenants/${TENANT}`, undefined, true);
    } finally {
      watcher.close();
    }
    const alert = alerts.find((a) => a.snapshot_id === flagged);
    hold(alert !== undefined, `no alert for snapshot ${flagged}: ${JSON.stringify(alerts)}`);
    const held = alert.details.held_snapshot_id;
    hold(held === lastGood, `the alert holds ${String(held)}, not Tuesday's ${lastGood}`);
    hold(tenant.alert_state === "red", `the tenant is ${tenant.alert_state}, not red`);
    hold(tenant.snapshots.held >= 1, "the tenant has no held snapshot");
    this.tell(
      "The server raises an alert and holds the last good snapshot",
      [
        `alert #${alert.id} (${alert.severity}, ${alert.kind}): ${alert.message.split("\n")[0]}`,
        `tenant ${TENANT} is now ${tenant.alert_state}; ${tenant.open_alerts} open alert(s)`,
        `snapshot ${short(lastGood)} (Tuesday, before the attack) is on hold: retention can never remove it`,
        "an operator acknowledges the alert with a reason (rempart admin alerts ack), which is audited",
      ],
      "You learn it the night of the attack, not on Monday, and the restore point is safe whatever happens next.",
    );
  }

  /** 9. What the attacker can do with the agent's credential. */
  private async appendOnly(
    { url, fingerprint }: ServerStarted,
    credential: string,
    lastGood: string,
  ): Promise<void> {
    const attacker = new PinnedClient({
      url,
      fingerprint,
      credential,
      retries: 0,
    });
    let erase: RefusalSeen;
    let overwrite: RefusalSeen;
    try {
      erase = refusal(
        await attacker.send({
          method: "DELETE",
          path: `/v1/repo/objects/snapshots/${lastGood}`,
          idempotent: false,
        }),
      );
      // A pack of Tuesday's data, overwritten with other bytes: a backup an attacker could
      // silently spoil without deleting anything.
      const packs = await attacker.json<ObjectListing>(
        "GET",
        "/v1/repo/objects/data?limit=1",
        undefined,
        true,
      );
      const pack = packs.objects[0]?.name;
      hold(pack !== undefined, "the tenant's repository lists no pack");
      const stored = await attacker.send({
        method: "GET",
        path: `/v1/repo/objects/data/${pack}`,
        idempotent: true,
      });
      hold(stored.status === 200, `the agent cannot read its pack back: HTTP ${stored.status}`);
      overwrite = refusal(
        await attacker.send({
          method: "PUT",
          path: `/v1/repo/objects/data/${pack}`,
          headers: { "content-type": "application/octet-stream" },
          body: [stored.body, Buffer.from("tampered")],
          idempotent: false,
        }),
      );
    } finally {
      attacker.close();
    }
    hold(erase.refused, `deleting Tuesday's snapshot was not refused: ${erase.line}`);
    hold(overwrite.refused, `overwriting a data pack was not refused: ${overwrite.line}`);
    this.tell(
      "The attacker has the agent's credential: can they erase the backups?",
      [
        `DELETE of Tuesday's snapshot → ${erase.line}`,
        `PUT of altered bytes over one of the backups' data packs → ${overwrite.line}`,
      ],
      "Agents can only add. Deleting old backups is done by the server's retention, under your operators' control, never by a client machine.",
    );
  }

  /** 10. Restore the held snapshot and compare every file with Tuesday's. */
  private async restoreHeld({ share, env }: EnrolledAgent, week: NormalWeek): Promise<void> {
    const { names, goodHashes, tuesday } = week;
    const target = join(this.folder, "restored");
    await this.rempart("restore", ["restore", tuesday.id, "--target", target], env);
    const restored = await hashFiles(join(target, share), names);
    const different = names.filter((name) => restored.get(name) !== goodHashes.get(name));
    hold(different.length === 0, `restored files differ from Tuesday's: ${different.join(", ")}`);
    this.tell(
      "Restore the held snapshot and prove it bit-exact",
      [
        `snapshot ${short(tuesday.id)} restored into ${target}`,
        `${names.length} of ${names.length} files have the SHA-256 they had on Tuesday: bit-exact`,
      ],
      "The client is back to Tuesday evening's files, and you can show the proof.",
    );
  }

  /** Stops the server and removes the folder (unless kept); says what it did. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.server?.stop();
    const kept = this.options.keep === true;
    if (!kept) rmSync(this.folder, { recursive: true, force: true });
    this.tell(
      "Clean up",
      [
        "server stopped",
        kept ? `folder kept: ${this.folder}` : `temporary folder ${this.folder} removed`,
      ],
      kept
        ? "Look around (server/ holds the catalog and the encrypted store); remove the folder when done."
        : "Nothing of the demo stays on this machine.",
    );
  }

  /** Ctrl-C: kills what runs and removes the folder (unless kept), at once. */
  abandon(): void {
    if (this.closed) return;
    this.closed = true;
    this.aborter.abort();
    this.server?.killNow();
    if (this.options.keep !== true) rmSync(this.folder, { recursive: true, force: true });
  }

  private tell(title: string, happened: readonly string[], why: string): void {
    this.step++;
    this.options.narrate({ step: this.step, title, happened, why });
  }

  private async operatorSession(
    url: string,
    fingerprint: string,
    password: string,
  ): Promise<PinnedClient> {
    const anonymous = new PinnedClient({ url, fingerprint });
    try {
      const { token } = await anonymous.json<LoginResponse>(
        "POST",
        "/v1/login",
        { username: "admin", password },
        false,
      );
      return new PinnedClient({ url, fingerprint, credential: token });
    } finally {
      anonymous.close();
    }
  }

  private async rempart(
    what: string,
    args: readonly string[],
    env: Readonly<Record<string, string>>,
  ): Promise<RunResult> {
    const result = await runRempart(this.options.command, args, env, this.aborter.signal);
    hold(
      result.code === 0,
      `${what} failed (exit ${result.code}): ${result.stderr.trim() || result.stdout.trim()}`,
    );
    return result;
  }

  private async backup(share: string, env: Readonly<Record<string, string>>): Promise<Backup> {
    const { stdout } = await this.rempart("the backup", ["backup", "--json", share], env);
    const lines = stdout.split("\n").filter((line) => line.trim() !== "");
    const summary = JSON.parse(lines.at(-1) ?? "{}") as {
      message_type?: string;
      snapshot_id?: string;
      files_new?: number;
      files_changed?: number;
      files_unchanged?: number;
      detection?: Detected;
    };
    hold(
      summary.message_type === "summary" && typeof summary.snapshot_id === "string",
      `the backup printed no summary: ${stdout}`,
    );
    return {
      id: summary.snapshot_id,
      files: {
        new: summary.files_new ?? 0,
        changed: summary.files_changed ?? 0,
        unchanged: summary.files_unchanged ?? 0,
      },
      detection: summary.detection,
    };
  }
}

interface RefusalSeen {
  readonly refused: boolean;
  /** `403 AppendOnly: …`, as the server answered */
  readonly line: string;
}

function refusal(response: { status: number; body: Buffer }): RefusalSeen {
  let said = "";
  try {
    const { error } = JSON.parse(response.body.toString("utf8")) as {
      error?: { code?: string; message?: string };
    };
    if (error) said = ` ${error.code ?? ""}: ${error.message ?? ""}`;
  } catch {
    said = ` ${response.body.toString("utf8").slice(0, 200)}`;
  }
  const refused = response.status >= 400 && response.status < 500;
  return {
    refused,
    line: `${refused ? "refused" : "NOT refused"}, HTTP ${response.status}${said}`,
  };
}

function verdictLine(detection: Detected | undefined): string {
  if (detection === undefined) return "(none reported)";
  return `${detection.verdict.toUpperCase()}, score ${detection.score}/100`;
}

function describeTypes(names: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const name of names) {
    const extension = name.slice(name.lastIndexOf(".") + 1);
    counts.set(extension, (counts.get(extension) ?? 0) + 1);
  }
  return [...counts].map(([extension, n]) => `${n} ${extension}`).join(", ");
}

const formatKiB = (bytes: number): string =>
  `${Math.round(bytes / 1024).toLocaleString("en-US")} KiB`;
