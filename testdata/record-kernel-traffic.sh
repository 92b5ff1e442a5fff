#!/usr/bin/env bash
# Records real Linux traffic for fixtures: TCP and UDP over IPv4 and IPv6
# between two network namespaces joined by a veth pair. The sender's offloads
# are off (tso, gso, tx checksumming, udp segmentation), so the kernel
# segments in software and the wire carries MTU-sized frames with full
# checksums: exactly what gsoreplay coalesce must merge back.
#
# With OFFLOADS=on the sender keeps its offloads (TSO, GSO, checksum), so the
# capture holds what a TSO/GRO host's tcpdump sees: TCP frames up to 64 KiB
# with partial checksums (testdata/tso-host.pcap:
#   OFFLOADS=on testdata/record-kernel-traffic.sh testdata/tso-host.pcap 256K 0).
#
# FRAG_DATAGRAMS adds that many 4000-byte UDP datagrams over IPv4 and over
# IPv6, which the kernel sends as IP fragments (testdata/kernel-fragments.pcap:
#   testdata/record-kernel-traffic.sh testdata/kernel-fragments.pcap 0 0 40).
# A count or size of 0 leaves that part out.
#
# Usage (root): testdata/record-kernel-traffic.sh OUT.pcap [BYTES_PER_TCP_FLOW] [UDP_DATAGRAMS] [FRAG_DATAGRAMS]
# Needs: ip (iproute2), ethtool, iperf3, tcpdump. This is a fixture script,
# not part of the product.
set -euo pipefail
out=${1:?usage: $0 OUT.pcap [BYTES_PER_TCP_FLOW] [UDP_DATAGRAMS] [FRAG_DATAGRAMS]}
tcp_bytes=${2:-512K}
udp_count=${3:-300}
frag_count=${4:-0}
. "$(dirname "$0")/record-common.sh"
record_tools
record_namespaces gsr-rec
ip -n "$a" addr add 10.99.0.1/24 dev va; ip -n "$b" addr add 10.99.0.2/24 dev vb
ip -n "$a" addr add fd00:99::1/64 dev va nodad; ip -n "$b" addr add fd00:99::2/64 dev vb nodad
ip -n "$a" link set va up; ip -n "$b" link set vb up
if [[ ${OFFLOADS:-off} != on ]]; then
  ip netns exec "$a" ethtool -K va tso off gso off tx off tx-udp-segmentation off >/dev/null
fi
# The receiver's checksums off, so that its ACKs carry full checksums in the capture.
ip netns exec "$b" ethtool -K vb tx off >/dev/null
record_start "$out"
record_flows "$tcp_bytes" "$udp_count" 1400
if ((frag_count > 0)); then
  record_iperf -c 10.99.0.2 -u -b 20M -l 4000 -n $((frag_count * 4000))
  record_iperf -6 -c fd00:99::2 -u -b 20M -l 4000 -n $((frag_count * 4000))
fi
record_stop "$out"
