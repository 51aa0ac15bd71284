// mosquitto.conf for the per-env MQTT broker: one mutual-TLS listener. Pure: no Pulumi imports.
//
// The env's CA is the only trust anchor, so a client cert issued by another env's CA is
// refused at the TLS handshake; the cert's CN becomes the MQTT username for ACLs.

/** Input of {@link renderMosquittoConf}: one TLS listener requiring client certificates (mosquitto.conf(5)). */
export interface MosquittoConfArgs {
  /** The listener's TCP port, 1..65535 (MQTT over TLS is 8883 by convention). */
  port: number;
  /** CA that client certs must chain to (the env's own CA). Absolute path. */
  caFile: string;
  /** The broker's certificate (PEM), absolute path. */
  certFile: string;
  /** The broker's private key (PEM), absolute path. */
  keyFile: string;
  /** Enables persistence when set. Absolute path. */
  persistenceDir?: string;
  /** Minimum TLS version: "tlsv1.2" (default) or "tlsv1.3". */
  tlsVersion?: string;
  /** Address the listener binds to; all interfaces when omitted (a container's own netns). */
  bindAddress?: string;
}

import { RenderInvariantError } from "./invariant";

/** A mosquitto.conf renderer invariant failed; the message starts with `mosquitto.conf:`. */
export class MosquittoConfigError extends RenderInvariantError {
  constructor(message: string) {
    super(message);
    this.name = "MosquittoConfigError";
  }
}

const TLS_VERSIONS = ["tlsv1.2", "tlsv1.3"];

function fail(message: string): never {
  throw new MosquittoConfigError(`mosquitto.conf: ${message}`);
}

function checkPath(field: string, value: unknown): string {
  if (typeof value !== "string" || value === "") fail(`${field} must be a non-empty path`);
  // mosquitto splits option values on whitespace; a newline would inject a directive.
  if (/[\s\x00-\x1f\x7f]/.test(value)) {
    fail(`${field} ${JSON.stringify(value)} contains whitespace or a control character`);
  }
  if (!value.startsWith("/")) {
    // Relative paths resolve against the broker's cwd, which differs between host and image.
    fail(`${field} ${JSON.stringify(value)} must be an absolute path`);
  }
  return value;
}

function checkBindAddress(value: string): string {
  const ipv4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
  const ipv6 = /^[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*$/;
  const hostname = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
  const looksNumeric = /^[0-9.]+$/.test(value); // "256.1.1.1" is a bad IP, not a hostname
  if (!ipv4.test(value) && !ipv6.test(value) && (looksNumeric || !hostname.test(value))) {
    fail(`bindAddress ${JSON.stringify(value)} is not an IP address or hostname`);
  }
  return value;
}

/**
 * mosquitto.conf: one listener on `port` with TLS (`tls_version` @default "tlsv1.2"), client
 * certificates required and used as the user name, no anonymous access, persistence only with
 * `persistenceDir`. Pure; checked by the real mosquitto in tests.
 * @throws MosquittoConfigError on a bad port, path, TLS version or bind address.
 */
export function renderMosquittoConf(args: MosquittoConfArgs): string {
  if (args === null || typeof args !== "object") fail("args must be an object");
  const { port } = args;
  if (typeof port !== "number" || !Number.isInteger(port) || port < 1 || port > 65535) {
    fail(`port ${JSON.stringify(port)} must be an integer in 1..65535`);
  }
  const caFile = checkPath("caFile", args.caFile);
  const certFile = checkPath("certFile", args.certFile);
  const keyFile = checkPath("keyFile", args.keyFile);
  const persistenceDir = args.persistenceDir === undefined ? undefined : checkPath("persistenceDir", args.persistenceDir);
  const tlsVersion = args.tlsVersion ?? "tlsv1.2";
  if (!TLS_VERSIONS.includes(tlsVersion)) {
    fail(`tlsVersion ${JSON.stringify(tlsVersion)} must be one of ${TLS_VERSIONS.join(", ")}`);
  }
  const bind = args.bindAddress === undefined ? undefined : checkBindAddress(args.bindAddress);

  const out = [
    "# Rendered by twinstack; do not edit by hand.",
    // Auth settings below apply to this listener only, not to any default listener.
    "per_listener_settings true",
  ];
  if (persistenceDir !== undefined) {
    // mosquitto 1.x appends the file name verbatim (2.x adds a slash itself; "//" is harmless).
    const dir = persistenceDir.endsWith("/") ? persistenceDir : `${persistenceDir}/`;
    out.push("persistence true", `persistence_location ${dir}`);
  } else {
    out.push("persistence false");
  }
  out.push(
    "",
    bind === undefined ? `listener ${port}` : `listener ${port} ${bind}`,
    "protocol mqtt",
    "allow_anonymous false",
    `cafile ${caFile}`,
    `certfile ${certFile}`,
    `keyfile ${keyFile}`,
    `tls_version ${tlsVersion}`,
    "require_certificate true",
    "use_identity_as_username true",
    "",
  );
  return out.join("\n");
}
