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
. "$(dirname "$0")/record-common.sh"
record_tools
record_namespaces gsr-vx
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
record_start "$out"
record_flows "$tcp_bytes" "$udp_count" 1350
record_stop "$out"
