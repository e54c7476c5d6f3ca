/**
 * The server's certificate: a real one the operator names, or a self-signed one made with the
 * `openssl` binary on first start and kept in `<data>/tls/`. Agents pin its SHA-256 fingerprint,
 * so a self-signed certificate is as safe as a CA-issued one for them.
 */
import { spawnSync } from "node:child_process";
import { randomBytes, X509Certificate } from "node:crypto";
import { chmod, mkdir, readFile, rename, rm } from "node:fs/promises";
import { hostname as osHostname } from "node:os";
import { join } from "node:path";
import { createSecureContext } from "node:tls";
import { RempartError } from "../errors.js";

export interface TlsMaterial {
  readonly cert: Buffer;
  readonly key: Buffer;
  /** `AB:CD:…`, as `openssl x509 -fingerprint -sha256` prints it. */
  readonly fingerprint: string;
  /** Whether this start made a new self-signed certificate. */
  readonly generated: boolean;
}

export interface TlsOptions {
  /** Where the self-signed pair lives: `<data>/tls`. */
  readonly dir: string;
  /** A real certificate (PEM, chain allowed) and its key; both or neither. */
  readonly certFile?: string | undefined;
  readonly keyFile?: string | undefined;
  /** Added to the self-signed certificate's names; default the machine's host name. */
  readonly hostname?: string | undefined;
}

const VALID_DAYS = 3650;
/** Only names openssl's SAN syntax cannot misread (a comma would add another entry). */
const DNS_NAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*$/;

export function certificateFingerprint(certPem: string | Buffer): string {
  return new X509Certificate(certPem).fingerprint256;
}

export async function loadOrCreateTls(options: TlsOptions): Promise<TlsMaterial> {
  if ((options.certFile === undefined) !== (options.keyFile === undefined)) {
    throw new RempartError("InvalidArgument", "give both --tls-cert and --tls-key, or neither");
  }
  if (options.certFile !== undefined && options.keyFile !== undefined) {
    return load(options.certFile, options.keyFile, false);
  }
  const certFile = join(options.dir, "cert.pem");
  const keyFile = join(options.dir, "key.pem");
  const [cert, key] = await Promise.all([readIfExists(certFile), readIfExists(keyFile)]);
  if (cert !== undefined && key !== undefined) return load(certFile, keyFile, false);
  // Neither, or one left by a start killed between the two renames: make a fresh pair.
  await generate(options.dir, options.hostname ?? osHostname());
  return load(certFile, keyFile, true);
}

async function load(certFile: string, keyFile: string, generated: boolean): Promise<TlsMaterial> {
  const [cert, key] = await Promise.all([readTlsFile(certFile), readTlsFile(keyFile)]);
  let fingerprint: string;
  try {
    fingerprint = certificateFingerprint(cert);
    // Fails now, with the file names, rather than at the first connection.
    createSecureContext({ cert, key });
  } catch (error) {
    throw new RempartError(
      "InvalidArgument",
      `the TLS certificate ${certFile} and key ${keyFile} cannot be used together: ${(error as Error).message}`,
      { certFile, keyFile },
    );
  }
  return { cert, key, fingerprint, generated };
}

async function generate(dir: string, hostname: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const work = join(dir, `.new-${randomBytes(6).toString("hex")}`);
  await mkdir(work, { mode: 0o700 });
  try {
    const names = ["IP:127.0.0.1", "IP:::1", "DNS:localhost"];
    if (hostname !== "localhost" && DNS_NAME.test(hostname)) names.push(`DNS:${hostname}`);
    const workKey = join(work, "key.pem");
    const workCert = join(work, "cert.pem");
    const result = spawnSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        workKey,
        "-out",
        workCert,
        "-days",
        String(VALID_DAYS),
        "-subj",
        "/CN=Rempart backup server",
        "-addext",
        `subjectAltName=${names.join(",")}`,
      ],
      { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 60_000 },
    );
    if (result.error !== undefined || result.status !== 0) {
      const why = result.error?.message ?? result.stderr.trim();
      throw new RempartError(
        "Unsupported",
        `cannot make a self-signed TLS certificate with openssl (install the openssl package, or pass --tls-cert and --tls-key): ${why}`,
      );
    }
    await chmod(workKey, 0o600);
    // The key first: a start killed between the renames finds no certificate and starts over.
    await rename(workKey, join(dir, "key.pem"));
    await rename(workCert, join(dir, "cert.pem"));
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function readIfExists(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

async function readTlsFile(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    throw new RempartError(
      "InvalidArgument",
      `cannot read the TLS file ${path}: ${(error as Error).message}`,
      { path },
    );
  }
}
