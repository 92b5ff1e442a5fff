#!/usr/bin/env bash
# Replay benchmark against the named anchors, in one run, on one veth lab
# (sender A with tx, tso and gso off, so that the kernel segments in
# software; receiver B's rx counter is the measure):
#   1. a bulk-TCP capture, --topspeed --loop, preloaded: gsoreplay replay vs
#      tcpreplay --topspeed -K, and vs a bare sender of ready-made 64 KiB GSO
#      frames (bench/tool bare). Targets: >= 10x tcpreplay, >= 0.8x bare.
#   2. a capture of small frames that cannot be merged: gsoreplay (sendmmsg
#      batches) vs tcpreplay. Target: >= 2x tcpreplay.
#   3. original timing over a capture spanning 10 s: how late the last frame
#      leaves. Target: < 1 ms.
# Each rate is measured over DURATION seconds (default 5) after a 1 s warm-up.
#
# Usage (root): bench/replay.sh [WORKDIR]
# Needs: go, tcpreplay, ip (iproute2), ethtool, and for the capture iperf3 and
# tcpdump (testdata/record-kernel-traffic.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-${TMPDIR:-/tmp}/gsoreplay-bench}
dur=${DURATION:-5}
mkdir -p "$work"
for tool in tcpreplay ip ethtool; do
  command -v "$tool" >/dev/null || { echo "$0: $tool not found (apt-get install tcpreplay iproute2 ethtool)" >&2; exit 1; }
done
go build -o "$work/gsoreplay" ./cmd/gsoreplay
go build -o "$work/tool" ./bench/tool
bulk=$work/bulk-tcp.pcap
if [[ ! -s $bulk ]]; then
  echo "recording bulk TCP between two namespaces ..." >&2
  testdata/record-kernel-traffic.sh "$bulk" 40M 0 2>/dev/null
fi
"$work/tool" oneway -o "$work/bulk-oneway.pcap" "$bulk"
"$work/tool" small -o "$work/small.pcap" -n 200000
"$work/tool" timed -o "$work/timed.pcap" -s 10

a=gsr-bench-a-$$ b=gsr-bench-b-$$
cleanup() { ip netns del "$a" 2>/dev/null || true; ip netns del "$b" 2>/dev/null || true; }
trap cleanup EXIT
ip netns add "$a"; ip netns add "$b"
ip -n "$a" link add va type veth peer name vb netns "$b"
ip netns exec "$a" ethtool -K va tx off tso off gso off >/dev/null
ip -n "$a" link set va up; ip -n "$b" link set vb up
rx() { ip netns exec "$b" cat /sys/class/net/vb/statistics/rx_packets; }

# rate NAME COMMAND...: frames per second B receives while COMMAND runs in A.
declare -A fps
rate() {
  local name=$1; shift
  ip netns exec "$a" "$@" >"$work/$name.log" 2>&1 &
  local pid=$!
  sleep 1
  local c1 t1 c2 t2
  c1=$(rx); t1=$(date +%s.%N)
  sleep "$dur"
  c2=$(rx); t2=$(date +%s.%N)
  wait "$pid" || { echo "$0: $name failed:" >&2; cat "$work/$name.log" >&2; exit 1; }
  fps[$name]=$(echo "($c2 - $c1) / ($t2 - $t1)" | bc -l)
  printf '%-34s %12.0f frames/s\n' "$name" "${fps[$name]}"
}
run_for=$((dur + 2))
echo "== bulk TCP ($(stat -c %s "$bulk") bytes), top speed, looped, preloaded"
rate tcpreplay-bulk tcpreplay -i va --topspeed -K --loop 0 --duration "$run_for" "$bulk"
rate gsoreplay-bulk "$work/gsoreplay" replay -i va --topspeed -K --loop 0 --duration "${run_for}s" -q "$bulk"
rate bare-gso "$work/tool" bare -i va -d "${run_for}s"
echo "== the same capture's data direction only (no pure ACKs)"
rate tcpreplay-oneway tcpreplay -i va --topspeed -K --loop 0 --duration "$run_for" "$work/bulk-oneway.pcap"
rate gsoreplay-oneway "$work/gsoreplay" replay -i va --topspeed -K --loop 0 --duration "${run_for}s" -q "$work/bulk-oneway.pcap"
echo "== small frames that cannot be merged"
rate tcpreplay-small tcpreplay -i va --topspeed -K --loop 0 --duration "$run_for" "$work/small.pcap"
rate gsoreplay-small "$work/gsoreplay" replay -i va --topspeed -K --loop 0 --duration "${run_for}s" -q "$work/small.pcap"
echo "== original timing, a capture spanning 10 s"
ip netns exec "$a" "$work/gsoreplay" replay -i va --json "$work/timed.pcap" >"$work/timed.json"
drift=$(sed -n 's/.*"end_drift_ms":\([-0-9.e]*\).*/\1/p' "$work/timed.json")
secs=$(sed -n 's/.*"seconds":\([-0-9.e]*\).*/\1/p' "$work/timed.json")
echo "last frame left ${drift} ms after its time; the replay took ${secs} s for a 10 s capture"

ratio() { echo "$1 / $2" | bc -l; }
echo "== ratios"
pass=0
check() { # label value op target
  local ok
  ok=$(echo "$2 $3 $4" | bc -l)
  printf '%-44s %8.2f  (target %s %s) %s\n' "$1" "$2" "$3" "$4" "$([[ $ok == 1 ]] && echo ok || echo MISSED)"
  [[ $ok == 1 ]] || pass=1
}
check "bulk: gsoreplay / tcpreplay" "$(ratio "${fps[gsoreplay-bulk]}" "${fps[tcpreplay-bulk]}")" ">=" 10
check "bulk: gsoreplay / bare 64 KiB GSO sender" "$(ratio "${fps[gsoreplay-bulk]}" "${fps[bare-gso]}")" ">=" 0.8
check "one way: gsoreplay / tcpreplay" "$(ratio "${fps[gsoreplay-oneway]}" "${fps[tcpreplay-oneway]}")" ">=" 10
check "one way: gsoreplay / bare 64 KiB GSO sender" "$(ratio "${fps[gsoreplay-oneway]}" "${fps[bare-gso]}")" ">=" 0.8
check "bare 64 KiB GSO sender / tcpreplay (the ceiling)" "$(ratio "${fps[bare-gso]}" "${fps[tcpreplay-bulk]}")" ">=" 10
check "small: gsoreplay / tcpreplay" "$(ratio "${fps[gsoreplay-small]}" "${fps[tcpreplay-small]}")" ">=" 2
check "original timing: end drift over 10 s (ms)" "$drift" "<" 1
exit $pass
