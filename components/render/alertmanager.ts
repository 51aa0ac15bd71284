// alertmanager.yml: every alert of the env to one receiver, a webhook or email. Pure: no Pulumi
// imports. Format: https://prometheus.io/docs/alerting/latest/configuration/ (route, receivers,
// webhook_configs.url, email_configs.to/from/smarthost/auth_username/auth_password/require_tls).
// The rendered text can hold a webhook token or an SMTP password: ship it as a secret file.
// Checked by `amtool check-config` in tests/consumers/monitoring.test.ts.
import YAML from "yaml";
import { RenderInvariantError } from "./invariant";

/**
 * Where alerts go: a webhook `url` (POSTed Alertmanager's JSON), or email `to` from `from` through
 * `smarthost` (`host:port`) with optional SMTP login and `requireTls`
 * (https://prometheus.io/docs/alerting/latest/configuration/#receiver).
 */
export type AlertReceiver =
  { kind: "webhook"; url: string } | { kind: "email"; to: string; from: string; smarthost: string; username?: string; password?: string; requireTls: boolean };

/** Input of {@link renderAlertmanagerConfig}. */
export interface AlertmanagerConfigArgs {
  /** The one receiver every alert is routed to. */
  receiver: AlertReceiver;
  /** How often a still-firing alert is sent again, hours. */
  repeatIntervalHours: number;
  /** How long to wait for more alerts of a new group before the first notification; default 30. */
  groupWaitSeconds?: number;
}

/** Name of the single receiver in the rendered alertmanager.yml. */
export const RECEIVER_NAME = "twinstack";

/**
 * alertmanager.yml (YAML) routing every alert to one receiver, repeated every `repeatIntervalHours`.
 * Pure; checked by the real `amtool check-config` in tests.
 * @throws RenderInvariantError when repeatIntervalHours is not positive, the webhook URL holds
 * spaces, the email addresses are not addresses, or the smarthost is not `host:port`.
 */
export function renderAlertmanagerConfig(a: AlertmanagerConfigArgs): string {
  if (!(a.repeatIntervalHours > 0)) throw new RenderInvariantError(`alertmanager: repeatIntervalHours must be positive, got ${a.repeatIntervalHours}`);
  const r = a.receiver;
  let receiver: Record<string, unknown>;
  if (r.kind === "webhook") {
    // The URL is a secret read at deploy time (a placeholder in an offline plan): only its shape is checked here.
    if (!/^\S+$/.test(r.url)) throw new RenderInvariantError("alertmanager: the webhook URL must be one word without spaces");
    receiver = { name: RECEIVER_NAME, webhook_configs: [{ url: r.url, send_resolved: true }] };
  } else {
    if (!/^[^@\s]+@[^@\s]+$/.test(r.to) || !/^[^@\s]+@[^@\s]+$/.test(r.from)) throw new RenderInvariantError("alertmanager: email to and from must be addresses");
    if (!/^[A-Za-z0-9.-]+:\d{1,5}$/.test(r.smarthost)) throw new RenderInvariantError(`alertmanager: smarthost must be host:port, got ${JSON.stringify(r.smarthost)}`);
    receiver = {
      name: RECEIVER_NAME,
      email_configs: [
        {
          to: r.to,
          from: r.from,
          smarthost: r.smarthost,
          ...(r.username ? { auth_username: r.username } : {}),
          ...(r.password ? { auth_password: r.password } : {}),
          require_tls: r.requireTls,
          send_resolved: true,
        },
      ],
    };
  }
  return YAML.stringify({
    route: {
      receiver: RECEIVER_NAME,
      group_by: ["alertname", "instance"],
      group_wait: `${a.groupWaitSeconds ?? 30}s`,
      group_interval: "5m",
      repeat_interval: `${a.repeatIntervalHours}h`,
    },
    receivers: [receiver],
  });
}
