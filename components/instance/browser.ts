// A headless browser the app drives over the env network (routed under /browser/ by the proxy).
import { InstanceContext } from "./context";

/** Child: `${name}-browser` (workload). Nothing without `browser`. */
export function declareBrowser(ctx: InstanceContext): void {
  const browser = ctx.args.browser;
  if (!browser) return;
  ctx.put("browser", {
    name: `${ctx.prefix}-browser`,
    role: "browser",
    image: browser.image,
    network: ctx.onNet(["browser"]),
    limits: ctx.limitsOf(browser.limits),
  });
}
