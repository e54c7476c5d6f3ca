/** Email delivery through an SMTP relay (nodemailer): one message per delivery. */
import nodemailer from "nodemailer";
import type { DueDelivery } from "../../catalog/delivery.js";
import { alertSubject, alertText } from "./message.js";

/** `starttls`: plain connection upgraded, refused if the server does not offer it (port 587);
 *  `tls`: TLS from the first byte (port 465); `none`: no encryption (a relay on localhost). */
export const SMTP_SECURITY = ["starttls", "tls", "none"] as const;
export type SmtpSecurity = (typeof SMTP_SECURITY)[number];

export interface SmtpOptions {
  readonly host: string;
  readonly port: number;
  readonly security: SmtpSecurity;
  /** Both or neither. */
  readonly user?: string | undefined;
  readonly password?: string | undefined;
  /** The sender address. */
  readonly from: string;
  /** PEM certificates to trust instead of the system's (a private relay). */
  readonly ca?: string | undefined;
}

const SMTP_TIMEOUT_MS = 30_000;

export type EmailSender = (delivery: DueDelivery) => Promise<void>;

export function smtpSender(options: SmtpOptions): EmailSender {
  const transport = nodemailer.createTransport({
    host: options.host,
    port: options.port,
    secure: options.security === "tls",
    requireTLS: options.security === "starttls",
    ignoreTLS: options.security === "none",
    connectionTimeout: SMTP_TIMEOUT_MS,
    greetingTimeout: SMTP_TIMEOUT_MS,
    socketTimeout: SMTP_TIMEOUT_MS,
    ...(options.user === undefined
      ? {}
      : { auth: { user: options.user, pass: options.password ?? "" } }),
    ...(options.ca === undefined ? {} : { tls: { ca: options.ca } }),
  });
  return async (delivery) => {
    await transport.sendMail({
      from: options.from,
      to: delivery.target,
      subject: alertSubject(delivery),
      text: alertText(delivery),
      headers: { "X-Rempart-Delivery": String(delivery.id) },
      messageId: `<rempart-delivery-${delivery.id}-alert-${delivery.alertId}@${options.host}>`,
    });
  };
}
