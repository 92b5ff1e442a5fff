#!/usr/bin/env bash
# Records real Linux VXLAN traffic for fixtures: TCP and UDP (iperf3) over
# IPv4 and IPv6 inside a VXLAN tunnel (VNI 42, UDP port 4789) between two
# network namespaces joined by a veth pair, captured on the underlay. The
# underlay veth has its offloads off, so the kernel's tunnel segmentation
# (skb_udp_tunnel_segment) cuts the vxlan device's GSO packets in software
# and the wire carries MTU-sized tunnel packets: what gsoreplay coalesce
# merges back into UDP tunnel super-packets.
#
# UNDERLAY=6 carries the tunnel over IPv6 (default 4). The outer UDP header
# gets a checksum (iproute2's default here); UDPCSUM=off records it as 0
# (noudpcsum; over IPv6 udp6zerocsumtx/rx), the setting of many stacks,
# which only tunnel GSO can merge.
#
# Usage (root): testdata/record-vxlan-traffic.sh OUT.pcap [BYTES_PER_TCP_FLOW] [UDP_DATAGRAMS]
# Needs: ip (iproute2), ethtool, iperf3, tcpdump. This is a fixture script,
# not part of the product.
set -euo pipefail
out=${1:?usage: $0 OUT.pcap [BYTES_PER_TCP_FLOW] [UDP_DATAGRAMS]}
tcp_bytes=${2:-512K}
udp_count=${3:-300}
underlay=${UNDERLAY:-4}
csum=${UDPCSUM:-}
for tool in ip ethtool iperf3 tcpdump; do
  command -v "$tool" >/dev/null || { echo "$0: $tool not found (apt-get install iproute2 ethtool iperf3 tcpdump)" >&2; exit 1; }
done
a=gsr-vx-a-$$ b=gsr-vx-b-$$
cleanup() {
  [[ -n ${dump:-} ]] && kill -INT "$dump" 2>/dev/null && wait "$dump" 2>/dev/null || true
  ip netns pids "$b" 2>/dev/null | xargs -r kill 2>/dev/null || true
  ip netns del "$a" 2>/dev/null || true
  ip netns del "$b" 2>/dev/null || true
}
trap cleanup EXIT
ip netns add "$a"; ip netns add "$b"
ip -n "$a" link add va type veth peer name vb netns "$b"
ip -n "$a" link set lo up; ip -n "$b" link set lo up
if [[ $underlay == 6 ]]; then
  ua=fd00:98::1 ub=fd00:98::2
  ip -n "$a" addr add $ua/64 dev va nodad; ip -n "$b" addr add $ub/64 dev vb nodad
else
  ua=10.98.0.1 ub=10.98.0.2
  ip -n "$a" addr add $ua/24 dev va; ip -n "$b" addr add $ub/24 dev vb
fi
ip -n "$a" link set va up; ip -n "$b" link set vb up
opts=()
case $csum in
on) opts=(udpcsum) ;;
off) opts=(noudpcsum udp6zerocsumtx udp6zerocsumrx) ;;
esac
ip -n "$a" link add vx0 type vxlan id 42 dstport 4789 local $ua remote $ub dev va "${opts[@]}"
ip -n "$b" link add vx0 type vxlan id 42 dstport 4789 local $ub remote $ua dev vb "${opts[@]}"
ip -n "$a" addr add 10.99.0.1/24 dev vx0; ip -n "$b" addr add 10.99.0.2/24 dev vx0
ip -n "$a" addr add fd00:99::1/64 dev vx0 nodad; ip -n "$b" addr add fd00:99::2/64 dev vx0 nodad
ip -n "$a" link set vx0 up; ip -n "$b" link set vx0 up
# The underlay segments in software; the receivers' checksums off, so
# that ACKs carry full inner checksums in the capture.
ip netns exec "$a" ethtool -K va tso off gso off tx off tx-udp-segmentation off >/dev/null
ip netns exec "$b" ethtool -K vb tx off >/dev/null
ip netns exec "$b" ethtool -K vx0 tx off >/dev/null
ip netns exec "$b" iperf3 -s -D >/dev/null
for _ in $(seq 100); do
  ip netns exec "$b" ss -ltn | grep -q ':5201 ' &&
    ip netns exec "$a" ping -c1 -W1 -q 10.99.0.2 >/dev/null 2>&1 &&
    ip netns exec "$a" ping -6 -c1 -W1 -q fd00:99::2 >/dev/null 2>&1 && break
  sleep 0.1
done
log=$(mktemp)
ip netns exec "$a" tcpdump -i va -s 0 -U --immediate-mode -w "$out" 2>"$log" &
dump=$!
for _ in $(seq 100); do grep -q listening "$log" && break; sleep 0.1; done
c() { ip netns exec "$a" iperf3 "$@" >/dev/null; }
if [[ $tcp_bytes != 0 ]]; then
  c -c 10.99.0.2 -n "$tcp_bytes"
  c -6 -c fd00:99::2 -n "$tcp_bytes"
fi
if ((udp_count > 0)); then
  c -c 10.99.0.2 -u -b 100M -l 1350 -n $((udp_count * 1350))
  c -6 -c fd00:99::2 -u -b 100M -l 1350 -n $((udp_count * 1350))
fi
sleep 0.2
kill -INT "$dump"; wait "$dump" || true; dump=
rm -f "$log"
echo "$out: $(tcpdump -r "$out" -n 2>/dev/null | wc -l) packets" >&2
