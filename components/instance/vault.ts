// A static-file vault: Caddy's file server over a read-only host directory (served by the proxy at vault.domain).
import { InstanceContext } from "./context";
import { VAULT_PORT } from "../../model/ports";

/** Child: `${name}-vault` (workload). Nothing without `vault`. */
export function declareVault(ctx: InstanceContext): void {
  const vault = ctx.args.vault;
  if (!vault) return;
  ctx.put("vault", {
    name: `${ctx.prefix}-vault`,
    role: "vault",
    image: vault.image,
    command: ["caddy", "file-server", "--root", "/srv", "--listen", `:${VAULT_PORT}`],
    network: ctx.onNet(["vault"]),
    binds: [{ hostPath: vault.hostPath, path: "/srv", readOnly: true }],
    limits: ctx.limitsOf(vault.limits),
  });
}
