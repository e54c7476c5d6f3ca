import { resolve } from "node:path";
import type { NewAlertDestination } from "../../catalog/delivery.js";
import { RempartError } from "../../errors.js";
import { SMTP_SECURITY, type SmtpOptions, type SmtpSecurity } from "../../server/delivery/email.js";
import { DEFAULT_GRACE_MS } from "../../server/gc/gc.js";
import {
  cronSchedule,
  DEFAULT_SCHEDULES,
  JOB_NAMES,
  type JobName,
  type JobsOptions,
  type Schedule,
} from "../../server/jobs/runner.js";
import { DEFAULT_LIMITS } from "../../server/limits.js";
import { readScrapeTokenFile } from "../../server/metrics/scrape-token.js";
import { describeDelay } from "../../server/offboarding/plan.js";
import {
  DEFAULT_DISK_RESERVE,
  DEFAULT_TENANT_QUOTA,
  type DiskReserve,
} from "../../server/quota.js";
import { startServer } from "../../server/server.js";
import type { Command, CommandContext, OptionTable } from "../command.js";
import { EXIT } from "../exit-codes.js";
import { formatBytes } from "../output.js";
import { readFileSecret } from "../secrets.js";
import { parseCount, parseDuration, parsePercent, parseSize, parseSizeOrNone } from "../units.js";

const JOB_HELP: Readonly<Record<JobName, string>> = {
  prune: "apply the retention policies",
  gc: "free the packs no kept snapshot references",
  deletions: "run the tenant deletions that are due",
  alerts: "raise stale-backup, failing-backup and quota alerts",
};

const scheduleOptions = Object.fromEntries(
  JOB_NAMES.map((job) => [
    `${job}-schedule`,
    {
      type: "string",
      value: "CRON|off",
      help: `when to ${JOB_HELP[job]}, crontab(5) in local time (default: "${DEFAULT_SCHEDULES[job]}")`,
    },
  ]),
) as Record<`${JobName}-schedule`, { type: "string"; value: string; help: string }>;

const options = {
  data: {
    type: "string",
    value: "DIR",
    help: "the data directory: catalog, tenants' stores, TLS certificate (default: ./data)",
  },
  listen: {
    type: "string",
    value: "HOST:PORT",
    help: "where to listen (default: 127.0.0.1:8443; [::]:8443 for every IPv6 and IPv4 address)",
  },
  "tls-cert": {
    type: "string",
    value: "FILE",
    help: "a PEM certificate to serve, with --tls-key (default: a self-signed one made on first start)",
  },
  "tls-key": { type: "string", value: "FILE", help: "the PEM private key of --tls-cert" },
  "default-quota": {
    type: "string",
    value: "SIZE|none",
    help: `the quota of a tenant created without one (default: ${formatBytes(DEFAULT_TENANT_QUOTA)})`,
  },
  "disk-reserve": {
    type: "string",
    value: "SIZE|N%",
    help: `refuse agent uploads while the data directory's disk has less free (default: ${"bytes" in DEFAULT_DISK_RESERVE ? formatBytes(DEFAULT_DISK_RESERVE.bytes) : `${DEFAULT_DISK_RESERVE.percent}%`})`,
  },
  "upload-memory": {
    type: "string",
    value: "SIZE",
    help: `memory all uploads in flight may hold together before more wait (default: ${formatBytes(DEFAULT_LIMITS.uploadMemoryBytes)})`,
  },
  "admin-totp": {
    type: "string",
    value: "required|optional",
    help: "whether admin routes over HTTP need a session opened with a TOTP code (default: required, optional when --listen is a loopback address)",
  },
  "no-jobs": {
    type: "boolean",
    help: "run no scheduled job (prune, GC, deletions, alerts): cron runs the admin commands instead",
  },
  ...scheduleOptions,
  "gc-grace": {
    type: "string",
    value: "DURATION",
    help: `scheduled GC spares packs younger than this (default: ${describeDelay(DEFAULT_GRACE_MS)})`,
  },
  "metrics-token-file": {
    type: "string",
    value: "FILE",
    help: "serve GET /metrics (Prometheus) to a bearer holding the token in FILE (default: no metrics)",
  },
  "connections-per-address": {
    type: "string",
    value: "N",
    help: `concurrent connections one client address may hold (default: ${DEFAULT_LIMITS.connectionsPerAddress})`,
  },
  "alert-webhook": {
    type: "string",
    multiple: true,
    value: "URL",
    help: "POST every tenant's alerts to this http(s) URL, signed with --alert-webhook-secret-file (repeatable)",
  },
  "alert-webhook-secret-file": {
    type: "string",
    value: "FILE",
    help: "the HMAC-SHA256 key the --alert-webhook requests are signed with",
  },
  "alert-email": {
    type: "string",
    multiple: true,
    value: "ADDRESS",
    help: "mail every tenant's alerts to this address through --smtp-host (repeatable)",
  },
  "smtp-host": { type: "string", value: "HOST", help: "the SMTP relay alert emails go through" },
  "smtp-port": {
    type: "string",
    value: "N",
    help: "its port (default: 587 for starttls, 465 for tls, 25 for none)",
  },
  "smtp-security": {
    type: "string",
    value: "MODE",
    help: "starttls (the default: refuse a relay that does not offer it), tls (from the first byte) or none",
  },
  "smtp-user": { type: "string", value: "USER", help: "log in to the relay as USER" },
  "smtp-password-file": { type: "string", value: "FILE", help: "with --smtp-user: its password" },
  "smtp-from": {
    type: "string",
    value: "ADDRESS",
    help: "the sender of alert emails (default: rempart@HOST of --smtp-host)",
  },
  "smtp-ca": {
    type: "string",
    value: "FILE",
    help: "PEM certificates to trust for the relay instead of the system's",
  },
} satisfies OptionTable;

const SMTP_DEFAULT_PORTS: Record<SmtpSecurity, number> = { starttls: 587, tls: 465, none: 25 };

/** The SMTP relay from the flags, or undefined when --smtp-host is not given. */
function smtpOptions(context: CommandContext): SmtpOptions | undefined {
  const host = context.string("smtp-host");
  if (host === undefined) return undefined;
  const security = context.string("smtp-security") ?? "starttls";
  if (!(SMTP_SECURITY as readonly string[]).includes(security))
    throw new RempartError("InvalidArgument", "--smtp-security wants starttls, tls or none");
  const mode = security as SmtpSecurity;
  const user = context.string("smtp-user");
  const passwordFile = context.string("smtp-password-file");
  if ((user === undefined) !== (passwordFile === undefined))
    throw new RempartError("InvalidArgument", "give --smtp-user and --smtp-password-file together");
  const ca = context.string("smtp-ca");
  return {
    host,
    port:
      optional(context.string("smtp-port"), (t) => parseCount(t, "--smtp-port", 1)) ??
      SMTP_DEFAULT_PORTS[mode],
    security: mode,
    user,
    password:
      passwordFile === undefined ? undefined : readFileSecret(passwordFile, "SMTP password file"),
    from: context.string("smtp-from") ?? `rempart@${host}`,
    ca: ca === undefined ? undefined : readFileSecret(ca, "SMTP CA file"),
  };
}

/** Destinations for every tenant's alerts, from the flags. */
function configuredDestinations(context: CommandContext): NewAlertDestination[] {
  const webhooks = context.strings("alert-webhook");
  const secretFile = context.string("alert-webhook-secret-file");
  if (webhooks.length > 0 && secretFile === undefined)
    throw new RempartError(
      "InvalidArgument",
      "--alert-webhook needs --alert-webhook-secret-file: the key its requests are signed with",
    );
  const secret =
    secretFile === undefined ? null : readFileSecret(secretFile, "webhook secret file");
  const emails = context.strings("alert-email");
  if (emails.length > 0 && context.string("smtp-host") === undefined)
    throw new RempartError(
      "InvalidArgument",
      "--alert-email needs --smtp-host: the relay to send through",
    );
  return [
    ...webhooks.map((target) => ({ tenantId: null, kind: "webhook", target, secret }) as const),
    ...emails.map((target) => ({ tenantId: null, kind: "email", target, secret: null }) as const),
  ];
}

/** `--disk-reserve 2G` or `--disk-reserve 5%`. */
export function parseReserve(text: string): DiskReserve {
  return text.trim().endsWith("%")
    ? { percent: parsePercent(text, "--disk-reserve", true) }
    : { bytes: parseSize(text, "--disk-reserve") };
}

export const DEFAULT_LISTEN = "127.0.0.1:8443";

function parseAdminTotp(text: string): { adminNeedsTotp: boolean } {
  if (text !== "required" && text !== "optional")
    throw new RempartError(
      "InvalidArgument",
      `--admin-totp wants required or optional, not ${JSON.stringify(text)}`,
    );
  return { adminNeedsTotp: text === "required" };
}

/** `HOST:PORT`, with IPv6 hosts in brackets (`[::1]:8443`). */
export function parseListen(text: string): { host: string; port: number } {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  const port = Number(match?.[3]);
  const host = match?.[1] ?? match?.[2];
  if (host === undefined || !Number.isInteger(port) || port > 65535)
    throw new RempartError(
      "InvalidArgument",
      `--listen wants HOST:PORT (e.g. ${DEFAULT_LISTEN}, 0.0.0.0:8443 or [::]:8443), not ${JSON.stringify(text)}`,
    );
  return { host, port };
}

/** The jobs' schedules from the command line, or undefined for `--no-jobs`. */
function jobsOf(context: CommandContext): JobsOptions | undefined {
  if (context.flag("no-jobs")) return undefined;
  const schedules: Partial<Record<JobName, Schedule>> = {};
  for (const job of JOB_NAMES) {
    let schedule: Schedule | undefined;
    try {
      schedule = cronSchedule(context.string(`${job}-schedule`) ?? DEFAULT_SCHEDULES[job]);
    } catch (error) {
      if (!(error instanceof RempartError)) throw error;
      throw new RempartError("InvalidArgument", `--${job}-schedule: ${error.message}`);
    }
    if (schedule !== undefined) schedules[job] = schedule;
  }
  const grace = context.string("gc-grace");
  return {
    schedules,
    gcGraceMs: grace === undefined ? DEFAULT_GRACE_MS : parseDuration(grace, "--gc-grace"),
  };
}

/** An option's value through its parser, or undefined when it is not given. */
function optional<T>(text: string | undefined, parse: (text: string) => T): T | undefined {
  return text === undefined ? undefined : parse(text);
}

function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      // A second signal while closing: the operator wants out now.
      const force = () => process.exit(EXIT.error);
      process.once("SIGINT", force);
      process.once("SIGTERM", force);
      resolve(signal);
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
}

export const serverCommand: Command = {
  name: "server",
  summary: "run the backup server (HTTPS) until SIGINT or SIGTERM",
  usage:
    "rempart server [--data DIR] [--listen HOST:PORT] [--tls-cert FILE --tls-key FILE]\n" +
    "       [--default-quota SIZE|none] [--disk-reserve SIZE|N%] [--upload-memory SIZE]\n" +
    "       [--connections-per-address N] [--admin-totp required|optional]\n" +
    "       [--no-jobs] [--JOB-schedule CRON|off] [--gc-grace 24h] [--metrics-token-file FILE]\n" +
    "       [--alert-webhook URL --alert-webhook-secret-file FILE]\n" +
    "       [--alert-email ADDRESS --smtp-host HOST [--smtp-port N] [--smtp-security MODE]\n" +
    "        [--smtp-user USER --smtp-password-file FILE] [--smtp-from ADDRESS] [--smtp-ca FILE]] [--json]",
  options,
  async run(context) {
    const { output } = context;
    const dataDir = resolve(context.string("data") ?? "data");
    const memory = optional(context.string("upload-memory"), (t) =>
      parseSize(t, "--upload-memory"),
    );
    const perAddress = optional(context.string("connections-per-address"), (t) =>
      parseCount(t, "--connections-per-address", 1),
    );
    const jobs = jobsOf(context);
    const tokenFile = context.string("metrics-token-file");
    const metricsToken =
      tokenFile === undefined ? undefined : await readScrapeTokenFile(resolve(tokenFile));
    const stopped = untilSignal();
    const server = await startServer({
      dataDir,
      listen: parseListen(context.string("listen") ?? DEFAULT_LISTEN),
      tlsCert: context.string("tls-cert"),
      tlsKey: context.string("tls-key"),
      defaultQuotaBytes: optional(context.string("default-quota"), (t) =>
        parseSizeOrNone(t, "--default-quota"),
      ),
      diskReserve: optional(context.string("disk-reserve"), parseReserve),
      log: (line) => output.warn(line),
      uploadMemoryBytes: memory,
      limits: perAddress === undefined ? {} : { connectionsPerAddress: perAddress },
      operatorPolicy: optional(context.string("admin-totp"), parseAdminTotp),
      jobs,
      metricsToken,
      alertDelivery: { destinations: configuredDestinations(context), smtp: smtpOptions(context) },
    });
    const admin = server.firstAdminPassword;
    if (output.json) {
      output.object({
        url: server.url,
        fingerprint: server.fingerprint,
        data: dataDir,
        first_admin: admin === undefined ? null : { username: "admin", password: admin },
      });
    } else {
      output.line(`Rempart server listening on ${server.url} (data in ${dataDir})`);
      output.line(`TLS certificate SHA-256 fingerprint (agents pin it): ${server.fingerprint}`);
      if (admin !== undefined) {
        output.line(`first admin login: username admin, password ${admin}`);
        output.line("  (shown this once; only its hash is stored)");
      }
      output.line(
        `create a tenant: rempart admin tenant create NAME --retention-days 90 --data ${dataDir}`,
      );
    }
    const signal = await stopped;
    output.warn(`${signal}: closing (in-flight requests get a few seconds to finish)`);
    await server.close();
    return EXIT.ok;
  },
};
