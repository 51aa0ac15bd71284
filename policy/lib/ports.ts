// The host ports a stack's declared resources really publish, read from the resources themselves
// (not from the stack config), so the cross-stack rule can check that the claims it compares are
// the ones the program makes.
import { Props, T, labelMap, workloadLabels } from "./resources";
import { LABELS } from "../../model/labels";

/** Every node of the stack: a Swarm ingress port binds every address of every node. */
export const EVERY_NODE = "*";

export interface PublishedPort {
  /** `twinstack.host` label of the container, or EVERY_NODE for a Swarm ingress port. */
  host: string;
  /** Bound address; 0.0.0.0 = every address. */
  address: string;
  port: number;
  /** The declaring resource's name, for messages. */
  resource: string;
}

/**
 * Ports published by containers (`ports[].ip/external`, on the host their `twinstack.host` label
 * names) and Swarm services (`endpointSpec.ports[].publishedPort`: ingress binds every address of
 * every node; host mode every address of the node running the task —
 * https://docs.docker.com/engine/swarm/ingress/#bypass-the-routing-mesh).
 */
export function publishedPorts(resources: { type: string; name: string; props: Props }[]): PublishedPort[] {
  const out: PublishedPort[] = [];
  for (const r of resources) {
    if (r.type === T.container) {
      const host = labelMap(r.props.labels)[LABELS.host] ?? "?";
      for (const p of (r.props.ports ?? []) as Props[]) {
        if (p.external === undefined) continue;
        out.push({ host, address: String(p.ip ?? "0.0.0.0"), port: Number(p.external), resource: r.name });
      }
    } else if (r.type === T.service) {
      const labels = workloadLabels(r.type, r.props);
      for (const p of (r.props.endpointSpec?.ports ?? []) as Props[]) {
        if (p.publishedPort === undefined) continue;
        const host = p.publishMode === "host" ? (labels[LABELS.host] ?? "?") : EVERY_NODE;
        out.push({ host, address: "0.0.0.0", port: Number(p.publishedPort), resource: r.name });
      }
    }
  }
  return out;
}
