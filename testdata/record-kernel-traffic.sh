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
for tool in ip ethtool iperf3 tcpdump; do
  command -v "$tool" >/dev/null || { echo "$0: $tool not found (apt-get install iproute2 ethtool iperf3 tcpdump)" >&2; exit 1; }
done
a=gsr-rec-a-$$ b=gsr-rec-b-$$
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
ip -n "$a" addr add 10.99.0.1/24 dev va; ip -n "$b" addr add 10.99.0.2/24 dev vb
ip -n "$a" addr add fd00:99::1/64 dev va nodad; ip -n "$b" addr add fd00:99::2/64 dev vb nodad
ip -n "$a" link set va up; ip -n "$b" link set vb up
if [[ ${OFFLOADS:-off} != on ]]; then
  ip netns exec "$a" ethtool -K va tso off gso off tx off tx-udp-segmentation off >/dev/null
fi
# The receiver's checksums off, so that its ACKs carry full checksums in the capture.
ip netns exec "$b" ethtool -K vb tx off >/dev/null
ip netns exec "$b" iperf3 -s -D >/dev/null
# Wait for the server and both addresses instead of sleeping blindly.
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
  c -c 10.99.0.2 -u -b 100M -l 1400 -n $((udp_count * 1400))
  c -6 -c fd00:99::2 -u -b 100M -l 1400 -n $((udp_count * 1400))
fi
if ((frag_count > 0)); then
  c -c 10.99.0.2 -u -b 20M -l 4000 -n $((frag_count * 4000))
  c -6 -c fd00:99::2 -u -b 20M -l 4000 -n $((frag_count * 4000))
fi
sleep 0.2 # let the last ACKs reach the capture (immediate mode: no block waits for its timeout)
kill -INT "$dump"; wait "$dump" || true; dump=
rm -f "$log"
echo "$out: $(tcpdump -r "$out" -n 2>/dev/null | wc -l) packets" >&2
