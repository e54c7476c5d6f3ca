/**
 * Test support: the far ends of alert delivery on 127.0.0.1, real ones. A webhook receiver that
 * checks each request's signature as a real receiver would, and answers as the test scripts it;
 * an SMTP server (smtp-server) with STARTTLS and a login, keeping what it receives.
 */
import { timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { SMTPServer } from "smtp-server";
import type { TestCertificate } from "../../testing/tls.js";
import {
  IDEMPOTENCY_HEADER,
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
  webhookSignature,
} from "./webhook.js";

export interface ReceivedWebhook {
  readonly key: string;
  readonly signatureValid: boolean;
  readonly timestamp: number;
  readonly body: {
    delivery_id: number;
    event: "raised" | "resolved";
    alert: {
      id: number;
      message: string;
      tenant: string;
      resolved_by: "system" | null;
      resolve_reason: string | null;
    };
  };
}

/** What the receiver does with the n-th request (0-based): answer a status, or never answer. */
export type Script = (n: number) => number | "hang";

export interface WebhookReceiver {
  readonly url: string;
  readonly received: ReceivedWebhook[];
  /** Resolves once `count` requests have arrived. */
  waitFor(count: number): Promise<void>;
  close(): Promise<void>;
}

export async function startWebhookReceiver(
  secret: string,
  script: Script,
): Promise<WebhookReceiver> {
  const received: ReceivedWebhook[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString("utf8");
    const timestamp = Number(req.headers[TIMESTAMP_HEADER]);
    const expected = Buffer.from(webhookSignature(secret, timestamp, body));
    const given = Buffer.from(String(req.headers[SIGNATURE_HEADER] ?? ""));
    const n = received.length;
    received.push({
      key: String(req.headers[IDEMPOTENCY_HEADER]),
      signatureValid: given.length === expected.length && timingSafeEqual(given, expected),
      timestamp,
      body: JSON.parse(body) as ReceivedWebhook["body"],
    });
    for (const waiter of waiters.filter((w) => received.length >= w.count)) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
    const answer = script(n);
    if (answer === "hang") return;
    res.writeHead(answer).end();
  };
  const server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/rempart`,
    received,
    waitFor: (count) =>
      received.length >= count
        ? Promise.resolve()
        : new Promise((resolve) => waiters.push({ count, resolve })),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface ReceivedMail {
  readonly from: string;
  readonly to: string[];
  readonly user: string | undefined;
  readonly secure: boolean;
  readonly data: string;
}

export interface SmtpReceiver {
  readonly port: number;
  readonly received: ReceivedMail[];
  waitFor(count: number): Promise<void>;
  close(): Promise<void>;
}

/** Accepts mail only after STARTTLS and a login as `user` with `password`. */
export async function startSmtpReceiver(
  certificate: TestCertificate,
  user: string,
  password: string,
): Promise<SmtpReceiver> {
  const received: ReceivedMail[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  const server = new SMTPServer({
    secure: false,
    key: certificate.key,
    cert: certificate.cert,
    authMethods: ["PLAIN", "LOGIN"],
    // Refuses AUTH before STARTTLS, as a real relay does.
    allowInsecureAuth: false,
    logger: false,
    onAuth(auth, _session, callback) {
      if (auth.username === user && auth.password === password) callback(null, { user });
      else callback(new Error("invalid login"));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("end", () => {
        received.push({
          from: session.envelope.mailFrom === false ? "" : session.envelope.mailFrom.address,
          to: session.envelope.rcptTo.map((r) => r.address),
          user: session.user as string | undefined,
          secure: session.secure,
          data: Buffer.concat(chunks).toString("utf8"),
        });
        for (const waiter of waiters.filter((w) => received.length >= w.count)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve();
        }
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.server.address() as AddressInfo;
  return {
    port,
    received,
    waitFor: (count) =>
      received.length >= count
        ? Promise.resolve()
        : new Promise((resolve) => waiters.push({ count, resolve })),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
