// The env's virtual IP, by variant (InstanceStackArgs.vip): keepalived (VRRP between the VIP nodes,
// tracking the proxy's loopback health port), or a cloud floating/reserved IP assigned to one node
// (hcloud, DigitalOcean), on hcloud optionally moved by keepalived between failover nodes.
import { VirtualIp } from "../virtualIp";
import { InvariantError } from "../render/invariant";
import { InstanceContext } from "./context";
import { LABELS } from "../../model/labels";

/**
 * Child: `${name}-vip` (VirtualIp). Returns undefined without `vip`.
 * @throws InvariantError when a VIP node is not a host of the stack, or a cloud VIP's node is not provisioned.
 */
export function declareVip(ctx: InstanceContext, healthPort: number | undefined): VirtualIp | undefined {
  const { name, args, parent } = ctx;
  const vip = args.vip;
  if (!vip) return undefined;
  const labels = { [LABELS.env]: args.env, [LABELS.stack]: args.stack };
  if (vip.mode === "keepalived") {
    const nodes = vip.nodes.map((nodeName, i) => {
      const host = args.hosts.find((h) => h.name === nodeName);
      if (!host) throw new InvariantError(`vip node "${nodeName}" is not a host of this stack`);
      return { name: nodeName, address: host.address as string, priority: 150 - i * 10, dockerProvider: ctx.providers[nodeName] };
    });
    return new VirtualIp(
      `${name}-vip`,
      {
        mode: "keepalived",
        namePrefix: ctx.prefix,
        protect: args.protect,
        keepalived: {
          virtualIp: vip.address,
          interface: vip.interface,
          virtualRouterId: vip.routerId,
          image: vip.image,
          // Without a proxy there is nothing to track but the node itself: sshd.
          proxyPort: healthPort ?? 22,
          nodes,
          limits: ctx.limitsOf(undefined),
          labels,
        },
      },
      { parent },
    );
  }
  const node = args.hosts.find((h) => h.name === vip.node);
  if (!node?.serverId) throw new InvariantError(`a ${vip.mode} VIP needs a provisioned host to assign to ("${vip.node}" is not provisioned)`);
  const f = vip.failover;
  const failover = f && {
    image: f.image,
    virtualRouterId: f.routerId,
    apiToken: f.apiToken,
    // The proxy is a Swarm service published on every node (ingress); without one, sshd.
    trackPort: args.proxy?.httpsPort ?? 22,
    nodes: f.nodes.map((nodeName, i) => {
      const host = args.hosts.find((h) => h.name === nodeName);
      if (!host?.serverId || typeof host.address !== "string") throw new InvariantError(`vip node "${nodeName}" needs a provisioned host on the private network`);
      return { name: nodeName, privateAddress: host.address, serverId: host.serverId, priority: 150 - i * 10, dockerProvider: ctx.providers[nodeName] };
    }),
    limits: ctx.limitsOf(undefined),
    labels,
  };
  return new VirtualIp(
    `${name}-vip`,
    { mode: vip.mode, namePrefix: ctx.prefix, protect: args.protect, cloud: { location: vip.location, assignTo: node.serverId, failover } },
    { parent },
  );
}
