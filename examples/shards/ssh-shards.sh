#!/usr/bin/env bash
# gsoreplay: one capture replayed by N hosts together, launched over ssh
# (GNU parallel does the same with --sshlogin). Shard k runs on HOSTS[k]
# and sends out of IFACE there; all start at one wall-clock instant (the
# hosts' clocks synchronized by PTP or NTP), then their reports are merged.
#
#   IFACE=eth1 CAPTURE=/data/capture.pcap ./ssh-shards.sh host-a host-b host-c
#
# The capture must be at CAPTURE on every host, and gsoreplay on its PATH
# with CAP_NET_RAW (sudo, or setcap cap_net_raw+ep).
set -euo pipefail
(($# > 0)) || { echo "usage: IFACE=eth1 CAPTURE=path $0 HOST..." >&2; exit 2; }
: "${IFACE:?set IFACE, the interface to send on}" "${CAPTURE:?set CAPTURE, the capture on every host}"
hosts=("$@")
n=${#hosts[@]}
# Far enough ahead for ssh to reach every host and gsoreplay to get ready.
start=$(date -u -d "+${LEAD:-15} seconds" +%Y-%m-%dT%H:%M:%S.%6NZ)
out=$(mktemp -d)
pids=()
for k in "${!hosts[@]}"; do
  ssh "${hosts[$k]}" sudo gsoreplay replay -i "$IFACE" --shard "$k/$n" \
    --start-at "$start" --json "$CAPTURE" >"$out/r$k.json" &
  pids+=($!)
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
gsoreplay report merge "$out"/r*.json || status=1
echo "reports in $out" >&2
exit $status
