#!/bin/sh
# The body of the keepalived container's entrypoint for a VIP on the nodes' own network (run by
# `/bin/sh -c`, then `exec keepalived "$@"`): allows non-local binds on the node, now and
# persistently (the env's proxy binds the VIP on every node, also on the BACKUP that does not hold
# it: https://www.kernel.org/doc/Documentation/networking/ip-sysctl.txt, ip_nonlocal_bind).
# components/virtualIp.ts (KEEPALIVED_ENTRYPOINT) renders the script: a header (`set -e`, then
# proc_net_ipv4 and sysctl_file, the host's paths as mounted in the container), then everything
# after the marker line below, verbatim (sent without its final newline). ShellCheck checks this
# file and the rendered script (tests/consumers/shellcheck.test.ts).
# shellcheck disable=SC2154 # the settings are the lines the renderer prepends
# As rendered, for shellcheck (the renderer writes this line itself):
set -e
# ---- rendered verbatim from here ----
echo 1 > "$proc_net_ipv4/ip_nonlocal_bind"
printf '%s\n' '# twinstack: VIP-bound proxies on nodes that do not hold the VIP' 'net.ipv4.ip_nonlocal_bind = 1' > "$sysctl_file"
exec keepalived "$@"
