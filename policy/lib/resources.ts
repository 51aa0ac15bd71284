// Reading the resources the program declares: type tokens, labels, physical names, limits.
// Works on the props a policy receives (inputs for resource policies, outputs for stack policies).

export const T = {
  container: "docker:index/container:Container",
  service: "docker:index/service:Service",
  network: "docker:index/network:Network",
  volume: "docker:index/volume:Volume",
  secret: "docker:index/secret:Secret",
  serviceConfig: "docker:index/serviceConfig:ServiceConfig",
  remoteImage: "docker:index/remoteImage:RemoteImage",
  dockerProvider: "pulumi:providers:docker",
  pgProvider: "pulumi:providers:postgresql",
  pgDatabase: "postgresql:index/database:Database",
  pgRole: "postgresql:index/role:Role",
  doDnsRecord: "digitalocean:index/dnsRecord:DnsRecord",
  hcloudZoneRecord: "hcloud:index/zoneRecord:ZoneRecord",
  hcloudZoneRrset: "hcloud:index/zoneRrset:ZoneRrset",
  doFirewall: "digitalocean:index/firewall:Firewall",
  hcloudFirewall: "hcloud:index/firewall:Firewall",
  doDroplet: "digitalocean:index/droplet:Droplet",
  hcloudServer: "hcloud:index/server:Server",
  doReservedIp: "digitalocean:index/reservedIp:ReservedIp",
  doReservedIpAssignment: "digitalocean:index/reservedIpAssignment:ReservedIpAssignment",
  doFloatingIp: "digitalocean:index/floatingIp:FloatingIp",
  doFloatingIpAssignment: "digitalocean:index/floatingIpAssignment:FloatingIpAssignment",
  doVolume: "digitalocean:index/volume:Volume",
  doVolumeAttachment: "digitalocean:index/volumeAttachment:VolumeAttachment",
  hcloudFloatingIp: "hcloud:index/floatingIp:FloatingIp",
  hcloudFloatingIpAssignment: "hcloud:index/floatingIpAssignment:FloatingIpAssignment",
  hcloudPrimaryIp: "hcloud:index/primaryIp:PrimaryIp",
  hcloudVolume: "hcloud:index/volume:Volume",
  hcloudVolumeAttachment: "hcloud:index/volumeAttachment:VolumeAttachment",
} as const;

export type Props = Record<string, any>;

const isObject = (v: unknown): v is Record<string, any> => !!v && typeof v === "object" && !Array.isArray(v);

/** Docker labels: `[{ label, value }]` lists (containers, services, networks) or plain maps. */
export function labelMap(labels: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (Array.isArray(labels)) {
    for (const entry of labels) if (isObject(entry) && typeof entry.label === "string") out[entry.label] = String(entry.value ?? "");
  } else if (isObject(labels)) {
    for (const [k, v] of Object.entries(labels)) out[k] = String(v);
  }
  return out;
}

/** Labels of a container, or of a service and its task's container spec. */
export function workloadLabels(type: string, props: Props): Record<string, string> {
  if (type === T.service) return { ...labelMap(props.taskSpec?.containerSpec?.labels), ...labelMap(props.labels) };
  return labelMap(props.labels);
}

export function isWorkload(type: string): boolean {
  return type === T.container || type === T.service;
}

/** The physical name: the `name` input, else the logical name (autonamed resources are named from it). */
export function physicalName(props: Props, logicalName: string): string {
  return typeof props.name === "string" && props.name !== "" ? props.name : logicalName;
}

/** CPU and memory limits of a workload, per replica; undefined where not set. */
export function workloadLimits(type: string, props: Props): { cpus?: number; memoryMb?: number; replicas: number } {
  if (type === T.service) {
    const limits = props.taskSpec?.resources?.limits ?? {};
    const nano = Number(limits.nanoCpus);
    const bytes = Number(limits.memoryBytes);
    const replicated = props.mode?.replicated;
    const replicas = props.mode?.global ? NaN : Number(replicated?.replicas ?? 1);
    return {
      cpus: limits.nanoCpus !== undefined && nano > 0 ? nano / 1e9 : undefined,
      memoryMb: limits.memoryBytes !== undefined && bytes > 0 ? bytes / (1024 * 1024) : undefined,
      replicas,
    };
  }
  const cpus = Number(props.cpus);
  const memory = Number(props.memory);
  return {
    cpus: props.cpus !== undefined && props.cpus !== "" && cpus > 0 ? cpus : undefined,
    memoryMb: props.memory !== undefined && memory > 0 ? memory : undefined,
    replicas: 1,
  };
}

/** The image reference a workload runs (containers often run a RemoteImage's id instead). */
export function workloadImage(type: string, props: Props): string | undefined {
  const image = type === T.service ? props.taskSpec?.containerSpec?.image : props.image;
  return typeof image === "string" ? image : undefined;
}

/** Network names a workload joins, and its network mode (containers). */
export function workloadNetworks(type: string, props: Props): { names: string[]; mode?: string } {
  const list = type === T.service ? props.taskSpec?.networksAdvanceds : props.networksAdvanced;
  const names = Array.isArray(list) ? list.map((n: any) => (isObject(n) ? String(n.name ?? "") : String(n))).filter((n: string) => n !== "") : [];
  return { names, mode: typeof props.networkMode === "string" ? props.networkMode : undefined };
}

/** Files a workload gets: container uploads (plain content). */
export function uploads(props: Props): { file: string; content: string }[] {
  const list = props.uploads;
  if (!Array.isArray(list)) return [];
  return list
    .filter((u: any) => isObject(u) && typeof u.file === "string")
    .map((u: any) => ({
      file: u.file as string,
      content: typeof u.content === "string" ? u.content : typeof u.contentBase64 === "string" ? Buffer.from(u.contentBase64, "base64").toString("utf8") : "",
    }));
}

/** Segments of a physical name: gigi-dev-app -> [gigi, dev, app]; gigi_prod -> [gigi, prod]; dev.gigi.casa -> [dev, gigi, casa]. */
export function nameSegments(name: string): string[] {
  return name
    .toLowerCase()
    .split(/[-_.]+/)
    .filter((s) => s !== "");
}

/** A provider reference as the harness records it (`<provider urn>::<id>`) -> the provider urn. */
export function providerUrnOf(ref: string): string {
  const cut = ref.lastIndexOf("::");
  return cut > 0 ? ref.slice(0, cut) : ref;
}

/** The last part of a URN: its resource name. */
export function nameFromUrn(urn: string): string {
  const cut = urn.lastIndexOf("::");
  return cut >= 0 ? urn.slice(cut + 2) : urn;
}
