#!/bin/sh
# The body of the keepalived container's script for a cloud VIP (run by `/bin/sh -c`, then
# `exec keepalived "$@"`). With a floating_ip (hcloud) it adds the IP to the public interface
# unless present and writes the netplan file (netplan_text) into the host's /etc/netplan so it
# survives a reboot (https://docs.hetzner.com/cloud/floating-ips/persistent-configuration/);
# DigitalOcean (floating_ip='') needs nothing on the interface: a reserved IP reaches the droplet
# through its anchor IP. Then it finds the interface holding private_address and writes the runtime
# keepalived.conf with it in place of the placeholder. components/render/cloudVip.ts renders the
# script: a header (`set -eu`, then floating_ip, public_interface, netplan_file, netplan_text,
# private_address, placeholder, conf, runtime_conf), then everything after the marker line below,
# verbatim (sent without its final newline). ShellCheck checks this file and the rendered script
# (tests/consumers/shellcheck.test.ts); tests/consumers/cloudVipPair.test.ts runs it with keepalived.
# shellcheck disable=SC2154 # the settings are the lines the renderer prepends
# As rendered, for shellcheck (the renderer writes this line itself):
set -eu
# ---- rendered verbatim from here ----
if [ -n "$floating_ip" ]; then
  if ! ip -4 addr show dev "$public_interface" | grep -q "inet $floating_ip/"; then ip addr add "$floating_ip/32" dev "$public_interface"; fi
  printf '%s\n' "$netplan_text" > "$netplan_file"
  # netplan warns about (and future versions refuse) world-readable configuration files.
  chmod 600 "$netplan_file"
fi
iface=''
for d in /sys/class/net/*; do
  n="${d##*/}"
  if ip -4 addr show dev "$n" 2>/dev/null | grep -q "inet $private_address/"; then iface="$n"; break; fi
done
if [ -z "$iface" ]; then echo "twinstack-vip: no interface holds the private address $private_address (yet)" >&2; exit 1; fi
sed "s/^    interface $placeholder\$/    interface $iface/" "$conf" > "$runtime_conf"
chmod 600 "$runtime_conf"
exec keepalived "$@"
