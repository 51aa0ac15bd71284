// blackbox_exporter's config.yml for an env's site probes (components/monitoring.ts). Pure: no
// Pulumi imports. Format: https://github.com/prometheus/blackbox_exporter/blob/master/CONFIGURATION.md
// (modules, prober: http, http.valid_status_codes, http.tls_config, http.preferred_ip_protocol).
// An https probe reports probe_ssl_earliest_cert_expiry, the certificate-expiry alert's input.
// Checked by the real exporter in tests/consumers/monitoring.test.ts.
import YAML from "yaml";
import { RenderInvariantError } from "./invariant";

/** A site that must answer 2xx (prod, or a site without basic auth). */
export const MODULE_OK = "http_2xx";
/** A site behind basic auth (non-prod): must answer 401 to an anonymous probe. */
export const MODULE_AUTH = "http_401";

/** Input of {@link renderBlackboxConfig}: probe timeout in seconds and the TLS verification settings. */
export interface BlackboxConfigArgs {
  /** Seconds before a probe gives up. */
  timeoutSeconds: number;
  /** Accept certificates no public CA signed (self-signed or Caddy's internal CA); expiry is still reported. */
  insecureSkipVerify?: boolean;
  /** CA certificate file to verify the sites with (inside the exporter's container). */
  caFile?: string;
}

/**
 * blackbox_exporter config (YAML) with two HTTP modules over IPv4: {@link MODULE_OK} (any 2xx) and
 * {@link MODULE_AUTH} (401), https://github.com/prometheus/blackbox_exporter/blob/master/CONFIGURATION.md.
 * @throws RenderInvariantError when timeoutSeconds is not positive.
 */
export function renderBlackboxConfig(a: BlackboxConfigArgs): string {
  if (!(a.timeoutSeconds > 0)) throw new RenderInvariantError(`blackbox: timeoutSeconds must be positive, got ${a.timeoutSeconds}`);
  const tls = { ...(a.insecureSkipVerify ? { insecure_skip_verify: true } : {}), ...(a.caFile ? { ca_file: a.caFile } : {}) };
  const http = (validStatusCodes: number[]) => ({
    prober: "http",
    timeout: `${a.timeoutSeconds}s`,
    http: {
      // An empty list means any 2xx.
      valid_status_codes: validStatusCodes,
      preferred_ip_protocol: "ip4",
      ...(Object.keys(tls).length ? { tls_config: tls } : {}),
    },
  });
  return YAML.stringify({ modules: { [MODULE_OK]: http([]), [MODULE_AUTH]: http([401]) } });
}
