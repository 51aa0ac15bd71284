// The MQTT broker (Mosquitto) with mutual TLS from this env's own CA: a server certificate and one
// client certificate per device.
import * as pulumi from "@pulumi/pulumi";
import { certificateAuthority } from "../certificates";
import { MOSQUITTO } from "../images";
import { renderMosquittoConf } from "../render/mosquitto";
import { InstanceContext } from "./context";

/**
 * The broker's TLS material for stack outputs: the CA certificate (PEM) devices trust, and each device's
 * client certificate and private key (PEM, a Pulumi secret).
 */
export interface InstanceMqtt {
  caCertificate: pulumi.Output<string>;
  /** Device name to its client certificate and key (secret). */
  deviceCertificates: pulumi.Output<Record<string, { certPem: string; privateKeyPem: string }>>;
}

/**
 * Children: `${name}-mqtt-ca` (CA), `${name}-mqtt-server`, `${name}-mqtt-device-<device>` (certificates),
 * `${name}-mqtt-data` (volume), `${name}-mqtt` (workload). Returns undefined without `mqtt`.
 */
export function declareMqtt(ctx: InstanceContext): InstanceMqtt | undefined {
  const { name, prefix, args } = ctx;
  const mqtt = args.mqtt;
  if (!mqtt) return undefined;
  const ca = certificateAuthority(
    `${name}-mqtt-ca`,
    { validityPeriodHours: 24 * 365 * 5, allowedUses: ["cert_signing", "crl_signing"], subject: { commonName: `${prefix} MQTT CA` } },
    ctx.parent,
  );
  const issue = (id: string, commonName: string, allowedUses: string[], dnsNames?: string[]) =>
    ca.issue(`${name}-mqtt-${id}`, { subject: { commonName }, dnsNames, validityPeriodHours: 24 * 365, allowedUses });
  const server = issue("server", args.proxy?.domains[0] ?? "mqtt", ["digital_signature", "key_encipherment", "server_auth"], [...(args.proxy?.domains ?? []), "mqtt"]);
  const devices = mqtt.devices.map((device) => ({ device, ...issue(`device-${device}`, device, ["digital_signature", "key_encipherment", "client_auth"]) }));
  const deviceCertificates = pulumi.secret(
    pulumi
      .all(devices.map((d) => pulumi.all([d.cert.certPem, d.key.privateKeyPem])))
      .apply((pairs) => Object.fromEntries(pairs.map(([certPem, privateKeyPem], i) => [devices[i].device, { certPem, privateKeyPem }]))),
  );
  const certs = MOSQUITTO.paths.certs;
  const conf = renderMosquittoConf({
    port: MOSQUITTO.ports.mqtts,
    caFile: `${certs}/ca.crt`,
    certFile: `${certs}/server.crt`,
    keyFile: `${certs}/server.key`,
    persistenceDir: `${MOSQUITTO.paths.data}/`,
  });
  // Mosquitto 2 reads certificates after dropping root to its own user (model/images.ts MOSQUITTO.user): the files must be its own.
  const [uid, gid] = MOSQUITTO.user!.split(":").map(Number);
  const mosquittoUser = { uid, gid };
  const data = ctx.volume("mqtt-data");
  ctx.put("mqtt", {
    name: `${prefix}-mqtt`,
    role: "mqtt",
    image: mqtt.image,
    network: ctx.onNet(["mqtt"]),
    ports: [{ internal: MOSQUITTO.ports.mqtts, external: mqtt.port }],
    volumes: [{ volumeName: data.name, path: MOSQUITTO.paths.data }],
    files: [
      { path: MOSQUITTO.paths.config, content: conf, owner: mosquittoUser },
      { path: `${certs}/ca.crt`, content: ca.cert.certPem, owner: mosquittoUser },
      { path: `${certs}/server.crt`, content: server.cert.certPem, owner: mosquittoUser },
      { path: `${certs}/server.key`, content: server.key.privateKeyPem, secret: true, owner: mosquittoUser },
    ],
    limits: ctx.limitsOf(mqtt.limits),
  });
  return { caCertificate: ca.cert.certPem, deviceCertificates };
}
