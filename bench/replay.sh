#!/usr/bin/env bash
# Replay benchmark, measured the way users replay: ONE PASS over a large
# capture, frames and bytes counted at the RECEIVING peer from its first to
# its last frame (bench/tool watch polls B's counters and is started before
# each sender), every sender alternated with the others RUNS times, medians
# and ratios printed, all in one run on one veth lab (sender A with tx, tso,
# gso and udp segmentation off, so the kernel segments in software).
#
# Senders: tcpreplay (Debian 4.4, PACKET_TX_RING) and tcpreplay 4.6 with
# AF_XDP (--xdp --xdp-batch-size=64; $TCPREPLAY46, default
# ../shared/anchors/tcpreplay-4.6/bin/tcpreplay), both -K; gsoreplay -K with
# 1 and 2 threads; gsoreplay streaming (no -K: 1 pipeline, the default on
# 2 CPUs, and 2); the bare GSO sender of
# ready-made 64 KiB frames with the same threads, from a hot buffer and from
# a huge-page buffer as large as the capture, and of super-packets of the
# capture's shape (as many segments as it has frames a send) from a hot
# buffer (bench/tool bare).
# Captures: >= 400k frames of real bulk TCP (two recordings of
# testdata/record-kernel-traffic.sh, concatenated), and 400k small frames
# that cannot be merged (bench/tool small).
# The AF_XDP send path (copy mode, one socket: a veth has one queue) is
# measured for the small frames with bench/tool xdp, not used by gsoreplay;
# so is a bare AF_PACKET sender of one small frame (bench/tool bare -small),
# the most any AF_PACKET replayer of such frames could do. Streaming's own
# work is timed alone: gsoreplay inspect reads, checks and coalesces the
# capture as a streaming replay does, without sending.
# Also: sender TSO on (the kernel passes super-packets whole, as to a TSO
# NIC: Gbit/s at the peer), original timing over 10 s with threads (end
# drift), and the peak memory of a streaming replay of two file sizes.
#
# Usage (root): bench/replay.sh [WORKDIR]     RUNS=3 by default
# By format (ONLY=formats alone): streaming like for like on pcap, pcapng,
# gzip and zstd, and one connection. -K like for like (ONLY=K alone):
# several connections and one, with their bare senders. The tap as the
# way in against the packet socket (ONLY=tap alone), on bulk TCP and VXLAN.
# Needs: go, tcpreplay, mergecap and editcap (tshark), zstd, gzip, ip, ethtool, iperf3, tcpdump, bc,
# /usr/bin/time, and tcpreplay 4.6's libraries (libpcap0.8 liburing2 libxdp1
# libbpf1).
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-${TMPDIR:-/tmp}/gsoreplay-bench}
runs=${RUNS:-3}
t46=${TCPREPLAY46:-../shared/anchors/tcpreplay-4.6/bin/tcpreplay}
mkdir -p "$work"
for tool in tcpreplay mergecap editcap zstd gzip tcpdump ip ethtool bc /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "$0: $tool not found (apt-get install tcpreplay tshark zstd tcpdump iproute2 ethtool bc time)" >&2; exit 1; }
done
[[ -x $t46 ]] || { echo "$0: no tcpreplay 4.6 at $t46 (set TCPREPLAY46)" >&2; exit 1; }
. bench/common.sh
small=$work/small.pcap
[[ -s $small ]] || "$T" small -o "$small" -n 400000
timed=$work/timed.pcap
[[ -s $timed ]] || "$T" timed -o "$timed" -s 10
frames() { "$G" inspect --json "$1" | sed -n 's/^  "packets": \([0-9]*\),$/\1/p' | head -1; }
nbulk=$(frames "$bulk") nsmall=$(frames "$small")
# The capture's shape: frames per send once coalesced (its super-packets
# and the frames that go alone).
nrec=$("$G" inspect --json "$bulk" | sed -n 's/^    "records": \([0-9]*\),$/\1/p' | head -1)
shape=$(((nbulk + nrec / 2) / nrec))
echo "machine: $(nproc) CPUs, $(uname -r), THP $(cat /sys/kernel/mm/transparent_hugepage/enabled)"
echo "bulk: $bulk, $(stat -c %s "$bulk") bytes, $nbulk frames in $nrec sends ($shape a send); small: $nsmall frames of 66 bytes"
((nbulk >= 400000)) || { echo "$0: the bulk capture has fewer than 400k frames" >&2; exit 1; }

a=gsr-bench-a-$$ b=gsr-bench-b-$$
cleanup() { ip netns del "$a" 2>/dev/null || true; ip netns del "$b" 2>/dev/null || true; }
trap cleanup EXIT
ip netns add "$a"; ip netns add "$b"
ip -n "$a" link add va type veth peer name vb netns "$b"
offloads() { ip netns exec "$a" ethtool -K va tx "$1" tso "$1" gso "$1" tx-udp-segmentation "$1" >/dev/null 2>&1; }
offloads off
for ns in "$a" "$b"; do ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1; done
ip -n "$a" link set va up; ip -n "$b" link set vb up

# measure NAME EXPECTED COMMAND...: one run; appends fps and Gbit/s at B.
declare -A fps gbps
measure() {
  local name=$1 want=$2; shift 2
  # -quiet: a sender that stalls (the host is shared) is waited for, not cut off and rated on part of its frames.
  ip netns exec "$b" "$T" watch -i vb -n "$want" -quiet 10s >"$work/watch.json" 2>"$work/watch.err" &
  local w=$!
  until grep -q watching "$work/watch.err" 2>/dev/null; do sleep 0.01; done
  if ! ip netns exec "$a" "$@" >"$work/$name.log" 2>&1; then
    kill "$w" 2>/dev/null || true
    echo "$0: $name failed:" >&2; cat "$work/$name.log" >&2; exit 1
  fi
  wait "$w"
  local got
  got=$(sed -n 's/.*"frames":\([0-9]*\).*/\1/p' "$work/watch.json")
  if ((got < want)); then
    # What the sender saw: its interface's counters and the host's backlog
    # drops (gsoreplay --json), the kernel's last words.
    echo "  ($name: the peer received $got of $want frames; sender: $(grep -o '"iface_[a-z_]*":[0-9a-z"]*\|"host_backlog_drops":[0-9]*' "$work/$name.log" | tr '\n' ' '))" >&2
  fi
  fps[$name]+="$(sed -n 's/.*"fps":\([0-9.]*\).*/\1/p' "$work/watch.json") "
  gbps[$name]+="$(sed -n 's/.*"gbps":\([0-9.]*\).*/\1/p' "$work/watch.json") "
}
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }
med() { echo "${fps[$1]}" | median; }
medg() { echo "${gbps[$1]}" | median; }

# The cost of rewriting (tcprewrite's flags): the same passes with and
# without an address map, a MAC and a TTL, alternated; ONLY=rewrite runs
# this part alone.
rewrite_flags=(--pnat=10.99.0.0/24:192.168.7.0/24 --enet-dmac=02:11:22:33:44:55 --ttl=33)
rewrite_section() {
  echo "== rewriting: one pass, bulk TCP, top speed, with and without ${rewrite_flags[*]} ($runs runs each)"
  for ((i = 0; i < runs; i++)); do
    measure rw-plain-stream "$nbulk" "$G" replay -i va -t --json "$bulk"
    measure rw-rewrite-stream "$nbulk" "$G" replay -i va -t --json "${rewrite_flags[@]}" "$bulk"
    measure rw-plain-K "$nbulk" "$G" replay -i va -t -K --json "$bulk"
    measure rw-rewrite-K "$nbulk" "$G" replay -i va -t -K --json "${rewrite_flags[@]}" "$bulk"
  done
  for n in rw-plain-stream rw-rewrite-stream rw-plain-K rw-rewrite-K; do
    printf '%-28s %10.0f frames/s   (runs: %s)\n' "$n" "$(med $n)" "${fps[$n]}"
  done
}
# A change against an earlier revision: ONLY=baseline BASELINE=REV builds
# REV's gsoreplay and alternates it with this tree's, streaming and -K, one
# pass over the bulk capture each, as pcap and as pcapng (editcap), frames
# counted at the peer, and prints the ratios (now / REV).
if [[ ${ONLY:-} == baseline ]]; then
  [[ -n ${BASELINE:-} ]] || { echo "$0: ONLY=baseline needs BASELINE=REV" >&2; exit 1; }
  rm -rf "$work/baseline-tree"
  git worktree add -q --detach "$work/baseline-tree" "$BASELINE"
  (cd "$work/baseline-tree" && go build -o "$work/gsoreplay-baseline" ./cmd/gsoreplay)
  git worktree remove --force "$work/baseline-tree"
  B=$work/gsoreplay-baseline
  bulkng=$work/bulk.pcapng
  [[ -s $bulkng ]] || editcap -F pcapng "$bulk" "$bulkng"
  echo "== this tree against $BASELINE: one pass, bulk TCP, top speed ($runs runs each, alternating)"
  for ((i = 0; i < runs; i++)); do
    for f in pcap pcapng; do
      in=$bulk
      [[ $f == pcapng ]] && in=$bulkng
      measure now-stream-$f "$nbulk" "$G" replay -i va -t --json "$in"
      measure base-stream-$f "$nbulk" "$B" replay -i va -t --json "$in"
      measure now-K-$f "$nbulk" "$G" replay -i va -t -K --json "$in"
      measure base-K-$f "$nbulk" "$B" replay -i va -t -K --json "$in"
    done
  done
  for f in pcap pcapng; do
    for n in now-stream-$f base-stream-$f now-K-$f base-K-$f; do
      printf '%-28s %10.0f frames/s   (runs: %s)\n' "$n" "$(med $n)" "${fps[$n]}"
    done
  done
  for f in pcap pcapng; do
    for mode in stream K; do
      printf '%-40s %8.2f\n' "$mode, $f: now / $BASELINE" "$(echo "$(med now-$mode-$f) / $(med base-$mode-$f)" | bc -l)"
    done
  done
  exit 0
fi
# Like for like, by format: streaming (no -K) against tcpreplay 4.6's
# streaming (xdp, no -K) on the bulk capture as pcap and as pcapng
# (editcap), gsoreplay streaming of it compressed (gzip -1 of the pcap,
# zstd of the pcapng, as capture pipelines write them), and one single
# connection (the IPv4 one of the second recording: no sharding helps it),
# -K and streaming, against tcpreplay 4.6 alike. ONLY=formats runs this
# part alone.
formats_section() {
  local ng=$work/bulk.pcapng gz=$work/bulk.pcap.gz zst=$work/bulk.pcapng.zst one=$work/one.pcap n1
  [[ -s $ng ]] || editcap -F pcapng "$bulk" "$ng"
  [[ -s $gz ]] || gzip -1 -c "$bulk" >"$gz"
  [[ -s $zst ]] || zstd -q -c "$ng" >"$zst"
  [[ -s $one ]] || tcpdump -r "$work/rec2.pcap" -w "$one" 'ip and tcp' 2>/dev/null
  n1=$(frames "$one")
  echo "== by format, streaming like for like: bulk TCP as pcap, pcapng ($(stat -c %s "$ng") bytes), gzip ($(stat -c %s "$gz")), zstd ($(stat -c %s "$zst")); one connection: $n1 frames ($runs runs each, alternating)"
  for ((i = 0; i < runs; i++)); do
    measure fmt-4.6-stream-pcap "$nbulk" "$t46" -i va -t --xdp --xdp-batch-size=64 "$bulk"
    measure fmt-gsoreplay-stream-pcap "$nbulk" "$G" replay -i va -t --json "$bulk"
    measure fmt-4.6-stream-pcapng "$nbulk" "$t46" -i va -t --xdp --xdp-batch-size=64 "$ng"
    measure fmt-gsoreplay-stream-pcapng "$nbulk" "$G" replay -i va -t --json "$ng"
    measure fmt-gsoreplay-stream-gzip "$nbulk" "$G" replay -i va -t --json "$gz"
    measure fmt-gsoreplay-stream-zstd "$nbulk" "$G" replay -i va -t --json "$zst"
    measure one-4.6-K "$n1" "$t46" -i va -t -K --xdp --xdp-batch-size=64 "$one"
    measure one-gsoreplay-K "$n1" "$G" replay -i va -t -K --json "$one"
    measure one-4.6-stream "$n1" "$t46" -i va -t --xdp --xdp-batch-size=64 "$one"
    measure one-gsoreplay-stream "$n1" "$G" replay -i va -t --json "$one"
  done
  echo "== memory of a streaming replay (peak RSS, KB) by format, two sizes: $(stat -c %s "$work/rec1.pcap") and $(stat -c %s "$bulk") bytes of pcap"
  [[ -s $work/rec1.pcap.gz ]] || gzip -1 -c "$work/rec1.pcap" >"$work/rec1.pcap.gz"
  [[ -s $work/rec1.pcapng ]] || editcap -F pcapng "$work/rec1.pcap" "$work/rec1.pcapng"
  [[ -s $work/rec1.pcapng.zst ]] || zstd -q -c "$work/rec1.pcapng" >"$work/rec1.pcapng.zst"
  local f small large
  for f in pcap pcapng pcap.gz pcapng.zst; do
    small=$(ip netns exec "$a" /usr/bin/time -f %M "$G" replay -i va -t -q "$work/rec1.$f" 2>&1 >/dev/null | tail -1)
    large=$(ip netns exec "$a" /usr/bin/time -f %M "$G" replay -i va -t -q "$work/bulk.$f" 2>&1 >/dev/null | tail -1)
    printf '%-12s %8s KB %8s KB\n' "$f" "$small" "$large"
  done
  for n in fmt-4.6-stream-pcap fmt-gsoreplay-stream-pcap fmt-4.6-stream-pcapng fmt-gsoreplay-stream-pcapng \
    fmt-gsoreplay-stream-gzip fmt-gsoreplay-stream-zstd one-4.6-K one-gsoreplay-K one-4.6-stream one-gsoreplay-stream; do
    printf '%-28s %10.0f frames/s   (runs: %s)\n' "$n" "$(med $n)" "${fps[$n]}"
  done
}
formats_checks() {
  check "streaming pcap: gsoreplay / tcpreplay 4.6 xdp streaming" "$(ratio "$(med fmt-gsoreplay-stream-pcap)" "$(med fmt-4.6-stream-pcap)")" ">=" 2
  check "streaming pcapng: gsoreplay / tcpreplay 4.6 xdp streaming" "$(ratio "$(med fmt-gsoreplay-stream-pcapng)" "$(med fmt-4.6-stream-pcapng)")" ">=" 2
  check "streaming: gsoreplay pcapng / pcap" "$(ratio "$(med fmt-gsoreplay-stream-pcapng)" "$(med fmt-gsoreplay-stream-pcap)")" ">=" 0.9
  check "streaming: gsoreplay zstd (pcapng) / pcapng" "$(ratio "$(med fmt-gsoreplay-stream-zstd)" "$(med fmt-gsoreplay-stream-pcapng)")" ">=" 0.5
  printf '%-58s %8.2f  (stated)\n' "streaming: gsoreplay gzip (pcap) / pcap" "$(ratio "$(med fmt-gsoreplay-stream-gzip)" "$(med fmt-gsoreplay-stream-pcap)")"
  check "one connection -K: gsoreplay / tcpreplay 4.6 xdp -K" "$(ratio "$(med one-gsoreplay-K)" "$(med one-4.6-K)")" ">=" 1.5
  check "one connection streaming: gsoreplay / tcpreplay 4.6 xdp" "$(ratio "$(med one-gsoreplay-stream)" "$(med one-4.6-stream)")" ">=" 2
}
ratio() { echo "$1 / $2" | bc -l; }
pass=0
check() { # label value op target
  local ok
  ok=$(echo "$2 $3 $4" | bc -l)
  printf '%-58s %8.2f  (target %s %s) %s\n' "$1" "$2" "$3" "$4" "$([[ $ok == 1 ]] && echo ok || echo MISSED)"
  [[ $ok == 1 ]] || pass=1
}
if [[ ${ONLY:-} == formats ]]; then
  formats_section
  echo "== ratios (medians)"
  formats_checks
  exit $pass
fi
# -K like for like, several connections and one (ONLY=K runs this part
# alone): tcpreplay 4.6 xdp -K, gsoreplay -K (2 threads on several
# connections, the default on one), and the bare GSO sender of the bulk
# capture's shape on the same two cores: the most any AF_PACKET sender of
# that shape reaches here; and the capture's own records sent bare, its
# connections shared by two threads as gsoreplay shares them: the most
# any AF_PACKET GSO sender of this capture reaches. One connection has one core's worth of sends:
# its ceiling is its own records sent bare with sendmmsg (bench/tool bare
# -file), and the zero-copy alternative, a PACKET_TX_RING filled from the
# other core (-ring), is measured beside it.
K_section() {
  local one=$work/one.pcap ng=$work/bulk.pcapng n1
  [[ -s $one ]] || tcpdump -r "$work/rec2.pcap" -w "$one" 'ip and tcp' 2>/dev/null
  [[ -s $ng ]] || editcap -F pcapng "$bulk" "$ng"
  n1=$(frames "$one")
  echo "== -K like for like: bulk TCP ($nbulk frames, 8 connections) as pcap and as pcapng, and one connection ($n1 frames) ($runs runs each, alternating)"
  for ((i = 0; i < runs; i++)); do
    measure tcpreplay-4.6-xdp "$nbulk" "$t46" -i va -t -K --xdp --xdp-batch-size=64 "$bulk"
    measure gsoreplay-K-2threads "$nbulk" "$G" replay -i va -t -K --threads 2 --json "$bulk"
    measure pcapng-4.6-K "$nbulk" "$t46" -i va -t -K --xdp --xdp-batch-size=64 "$ng"
    measure pcapng-gsoreplay-K-2threads "$nbulk" "$G" replay -i va -t -K --threads 2 --json "$ng"
    measure bare-gso-shape-2threads "$nbulk" "$T" bare -i va -n "$nbulk" -threads 2 -segs "$shape" -batch 32
    measure bare-records-2threads "$nbulk" "$T" bare -i va -file "$bulk" -threads 2 -batch 32
    measure one-4.6-K "$n1" "$t46" -i va -t -K --xdp --xdp-batch-size=64 "$one"
    measure one-gsoreplay-K "$n1" "$G" replay -i va -t -K --json "$one"
    measure one-bare-records "$n1" "$T" bare -i va -file "$one" -batch 32
    measure one-bare-tx-ring "$n1" "$T" bare -i va -file "$one" -ring 1024
  done
  for n in tcpreplay-4.6-xdp gsoreplay-K-2threads pcapng-4.6-K pcapng-gsoreplay-K-2threads bare-gso-shape-2threads bare-records-2threads one-4.6-K one-gsoreplay-K one-bare-records one-bare-tx-ring; do
    printf '%-28s %10.0f frames/s   (runs: %s)\n' "$n" "$(med $n)" "${fps[$n]}"
  done
}
K_checks() {
  check "bulk -K: gsoreplay (2 threads) / tcpreplay 4.6 xdp" "$(ratio "$(med gsoreplay-K-2threads)" "$(med tcpreplay-4.6-xdp)")" ">=" 2
  check "bulk -K, the ceiling: bare GSO of the capture's shape / 4.6 xdp" "$(ratio "$(med bare-gso-shape-2threads)" "$(med tcpreplay-4.6-xdp)")" ">=" 2
  check "bulk -K, the ceiling: its records sent bare (2 threads) / 4.6" "$(ratio "$(med bare-records-2threads)" "$(med tcpreplay-4.6-xdp)")" ">=" 2
  check "bulk -K: gsoreplay (2 threads) / its records sent bare" "$(ratio "$(med gsoreplay-K-2threads)" "$(med bare-records-2threads)")" ">=" 0.9
  check "bulk -K, pcapng: gsoreplay (2 threads) / tcpreplay 4.6 xdp" "$(ratio "$(med pcapng-gsoreplay-K-2threads)" "$(med pcapng-4.6-K)")" ">=" 2
  check "one connection -K: gsoreplay / tcpreplay 4.6 xdp -K" "$(ratio "$(med one-gsoreplay-K)" "$(med one-4.6-K)")" ">=" 1.5
  check "one connection -K, the ceiling: its records sent bare / 4.6" "$(ratio "$(med one-bare-records)" "$(med one-4.6-K)")" ">=" 1.5
  check "one connection -K: gsoreplay / its records sent bare" "$(ratio "$(med one-gsoreplay-K)" "$(med one-bare-records)")" ">=" 0.9
  printf '%-58s %8.2f  (stated)\n' "one connection: its records through a TX ring / sendmmsg" "$(ratio "$(med one-bare-tx-ring)" "$(med one-bare-records)")"
}
# BIG TCP (ONLY=bigtcp alone): what super-packets above 64 KiB give -K,
# gsoreplay against itself, alternating: the default (64 KiB), 256 KiB and
# coalesce's most (1 MiB), with the sends each made (its --json) beside the
# rate at the peer; on the recorded bulk capture and on a crafted one of
# unbroken runs (tool long: 8 connections, IPv4 and IPv6, runs of 720).
bigtcp_section() {
  local long=$work/long.pcap nlong=400000
  [[ -s $long ]] || "$T" long -o "$long" -n "$nlong"
  echo "== BIG TCP: gsoreplay -K (2 threads) by --max-bytes, bulk ($nbulk frames) and unbroken runs ($nlong frames) ($runs runs each, alternating)"
  local sizes="65535 262144 1048576"
  for ((i = 0; i < runs; i++)); do
    for mb in $sizes; do
      measure "big-bulk-$mb" "$nbulk" "$G" replay -i va -t -K --threads 2 --json --max-bytes "$mb" --max-segments 65535 --max-span 0 "$bulk"
      measure "big-long-$mb" "$nlong" "$G" replay -i va -t -K --threads 2 --json --max-bytes "$mb" --max-segments 65535 --max-span 0 "$long"
    done
  done
  for f in bulk long; do
    for mb in $sizes; do
      local n=big-$f-$mb
      printf '%-22s %10.0f frames/s %8s sends   (runs: %s)\n' "$n" "$(med "$n")" "$(sed -n 's/.*"sends":\([0-9]*\).*/\1/p' "$work/$n.log" | head -1)" "${fps[$n]}"
    done
  done
  echo "== ratios (medians)"
  for f in bulk long; do
    for mb in 262144 1048576; do
      printf '%-58s %8.2f  (stated)\n' "$f -K: --max-bytes $mb / 65535" "$(ratio "$(med "big-$f-$mb")" "$(med "big-$f-65535")")"
    done
  done
}
# The tap as the way in (ONLY=tap alone): the same captures sent by packet
# socket and through a tap redirected to the interface (--via tap),
# streaming and -K, alternated: the bulk capture, and VXLAN recordings
# (testdata/record-vxlan-traffic.sh, 100 MB per TCP connection) with the
# outer checksum and without, which by tap go as UDP tunnel super-packets
# (by packet socket as outer USO, or, without the checksum, frame by frame).
tap_section() {
  local f n
  for f in vxlan vxlan0; do
    [[ -s $work/$f.pcap ]] || UDPCSUM=$([[ $f == vxlan0 ]] && echo off || echo on) testdata/record-vxlan-traffic.sh "$work/$f.pcap" 100M 0 >/dev/null 2>&1
  done
  echo "== the way in: packet socket against tap, one pass each ($runs runs each, alternating)"
  for ((i = 0; i < runs; i++)); do
    for f in bulk vxlan vxlan0; do
      n=$(frames "$work/$f.pcap")
      measure via-$f-packet "$n" "$G" replay -i va -t --json "$work/$f.pcap"
      measure via-$f-tap "$n" "$G" replay -i va -t --via tap --json "$work/$f.pcap"
      measure via-$f-packet-K "$n" "$G" replay -i va -t -K --json "$work/$f.pcap"
      measure via-$f-tap-K "$n" "$G" replay -i va -t -K --via tap --json "$work/$f.pcap"
    done
  done
  for f in bulk vxlan vxlan0; do
    for m in packet tap packet-K tap-K; do
      printf '%-28s %10.0f frames/s   (runs: %s)\n' "via-$f-$m" "$(med via-$f-$m)" "${fps[via-$f-$m]}"
    done
    printf '%-58s %8.2f\n' "$f streaming: tap / packet socket" "$(ratio "$(med via-$f-tap)" "$(med via-$f-packet)")"
    printf '%-58s %8.2f\n' "$f -K: tap / packet socket" "$(ratio "$(med via-$f-tap-K)" "$(med via-$f-packet-K)")"
  done
}
if [[ ${ONLY:-} == tap ]]; then
  tap_section
  exit 0
fi
if [[ ${ONLY:-} == bigtcp ]]; then
  bigtcp_section
  exit 0
fi
if [[ ${ONLY:-} == K ]]; then
  K_section
  echo "== ratios (medians)"
  K_checks
  exit $pass
fi
if [[ ${ONLY:-} == rewrite ]]; then
  rewrite_section
  for mode in stream K; do
    r=$(ratio "$(med rw-rewrite-$mode)" "$(med rw-plain-$mode)")
    ok=$(echo "$r >= 0.95" | bc -l)
    printf '%-58s %8.2f  (target >= 0.95) %s\n' "rewriting cost, $mode: with / without" "$r" "$([[ $ok == 1 ]] && echo ok || echo MISSED)"
    [[ $ok == 1 ]] || pass=1
  done
  exit $pass
fi

echo "== one pass, bulk TCP, top speed ($runs runs each, alternating)"
for ((i = 0; i < runs; i++)); do
  measure tcpreplay-4.4 "$nbulk" tcpreplay -i va -t -K "$bulk"
  measure tcpreplay-4.6-xdp "$nbulk" "$t46" -i va -t -K --xdp --xdp-batch-size=64 "$bulk"
  measure gsoreplay-K-1thread "$nbulk" "$G" replay -i va -t -K --threads 1 --json "$bulk"
  measure gsoreplay-K-2threads "$nbulk" "$G" replay -i va -t -K --threads 2 --json "$bulk"
  measure gsoreplay-stream-1thread "$nbulk" "$G" replay -i va -t --threads 1 --json "$bulk"
  measure gsoreplay-stream-2threads "$nbulk" "$G" replay -i va -t --threads 2 --json "$bulk"
  measure bare-gso-hot-1thread "$nbulk" "$T" bare -i va -n "$nbulk" -threads 1
  measure bare-gso-hot-2threads "$nbulk" "$T" bare -i va -n "$nbulk" -threads 2
  measure bare-gso-big-1thread "$nbulk" "$T" bare -i va -n "$nbulk" -threads 1 -big $(($(stat -c %s "$bulk") >> 20))
  measure bare-gso-big-2threads "$nbulk" "$T" bare -i va -n "$nbulk" -threads 2 -big $(($(stat -c %s "$bulk") >> 20))
  measure bare-gso-shape-1thread "$nbulk" "$T" bare -i va -n "$nbulk" -threads 1 -segs "$shape" -batch 32
  measure bare-gso-shape-2threads "$nbulk" "$T" bare -i va -n "$nbulk" -threads 2 -segs "$shape" -batch 32
done
for n in tcpreplay-4.4 tcpreplay-4.6-xdp gsoreplay-K-1thread gsoreplay-K-2threads gsoreplay-stream-1thread gsoreplay-stream-2threads \
  bare-gso-hot-1thread bare-gso-hot-2threads bare-gso-big-1thread bare-gso-big-2threads \
  bare-gso-shape-1thread bare-gso-shape-2threads; do
  printf '%-28s %10.0f frames/s  %6.2f Gbit/s   (runs: %s)\n' "$n" "$(med $n)" "$(medg $n)" "${fps[$n]}"
done

rewrite_section

echo "== one pass, small frames that cannot be merged"
for ((i = 0; i < runs; i++)); do
  measure small-tcpreplay-4.6-xdp "$nsmall" "$t46" -i va -t -K --xdp --xdp-batch-size=64 "$small"
  measure small-gsoreplay-K "$nsmall" "$G" replay -i va -t -K --json "$small"
  measure small-gsoreplay-K-1thread "$nsmall" "$G" replay -i va -t -K --threads 1 --json "$small"
  measure small-af-xdp-path "$nsmall" "$T" xdp -i va "$small"
  measure small-bare-af-packet-1thread "$nsmall" "$T" bare -i va -n "$nsmall" -threads 1 -small -batch 32
  measure small-bare-af-packet-2threads "$nsmall" "$T" bare -i va -n "$nsmall" -threads 2 -small -batch 32
done
for n in small-tcpreplay-4.6-xdp small-gsoreplay-K small-gsoreplay-K-1thread small-af-xdp-path \
  small-bare-af-packet-1thread small-bare-af-packet-2threads; do
  printf '%-28s %10.0f frames/s\n' "$n" "$(med $n)"
done

echo "== streaming's own work: reading, checking and coalescing the bulk capture with no send (gsoreplay inspect, one core)"
declare -a insp
for ((i = 0; i < runs; i++)); do
  insp+=("$( { /usr/bin/time -f %e "$G" inspect "$bulk" >/dev/null; } 2>&1 | tail -1)")
done
inspect_s=$(printf '%s ' "${insp[@]}" | median)
inspect_fps=$(echo "$nbulk / $inspect_s" | bc -l)
printf '%-28s %10.0f frames/s   (%s s; runs: %s)\n' "inspect-alone" "$inspect_fps" "$inspect_s" "${insp[*]}"

echo "== sender TSO on: super-packets cross the veth whole (a TSO NIC); Gbit/s at the peer"
offloads on
nsup=$("$G" inspect --json "$bulk" | sed -n 's/^    "records": \([0-9]*\),$/\1/p' | head -1)
for ((i = 0; i < runs; i++)); do
  measure tso-tcpreplay-4.6-xdp "$nbulk" "$t46" -i va -t -K --xdp --xdp-batch-size=64 "$bulk"
  measure tso-gsoreplay-K "$nsup" "$G" replay -i va -t -K --json "$bulk"
  measure tso-gsoreplay-stream "$nsup" "$G" replay -i va -t --json "$bulk"
done
offloads off
for n in tso-tcpreplay-4.6-xdp tso-gsoreplay-K tso-gsoreplay-stream; do
  printf '%-28s %10.2f Gbit/s\n' "$n" "$(medg $n)"
done

echo "== original timing over 10 s, 2 threads"
ip netns exec "$a" "$G" replay -i va --threads 2 --json "$timed" >"$work/timed.json"
drift=$(sed -n 's/.*"end_drift_ms":\([-0-9.e]*\).*/\1/p' "$work/timed.json")
secs=$(sed -n 's/.*"seconds":\([-0-9.e]*\).*/\1/p' "$work/timed.json")
echo "last frame left ${drift} ms after its time; the replay took ${secs} s for a 10 s capture"

echo "== memory of a streaming replay (peak RSS), two capture sizes"
rss() { ip netns exec "$a" /usr/bin/time -f %M "$G" replay -i va -t -q "$1" 2>&1 >/dev/null | tail -1; }
rss1=$(rss "$work/rec1.pcap") rss2=$(rss "$bulk")
echo "$(stat -c %s "$work/rec1.pcap") bytes: ${rss1} KB; $(stat -c %s "$bulk") bytes: ${rss2} KB"

formats_section

echo "== ratios (medians)"
check "bulk -K: gsoreplay (2 threads) / tcpreplay 4.6 xdp" "$(ratio "$(med gsoreplay-K-2threads)" "$(med tcpreplay-4.6-xdp)")" ">=" 2
check "bulk -K: gsoreplay (2 threads) / tcpreplay 4.4" "$(ratio "$(med gsoreplay-K-2threads)" "$(med tcpreplay-4.4)")" ">=" 10
check "bulk -K: gsoreplay / bare GSO senders, hot buffer (2 threads)" "$(ratio "$(med gsoreplay-K-2threads)" "$(med bare-gso-hot-2threads)")" ">=" 0.8
check "bulk -K: gsoreplay / bare GSO senders, capture-sized huge pages" "$(ratio "$(med gsoreplay-K-2threads)" "$(med bare-gso-big-2threads)")" ">=" 0.8
check "bulk -K: gsoreplay / bare GSO senders of the capture's shape" "$(ratio "$(med gsoreplay-K-2threads)" "$(med bare-gso-shape-2threads)")" ">=" 0.8
check "bulk -K, the ceiling: bare GSO of the capture's shape / 4.6 xdp" "$(ratio "$(med bare-gso-shape-2threads)" "$(med tcpreplay-4.6-xdp)")" ">=" 2
check "bulk streaming: gsoreplay (default: 1 pipeline) / 4.6 xdp -K" "$(ratio "$(med gsoreplay-stream-1thread)" "$(med tcpreplay-4.6-xdp)")" ">=" 1
check "bulk streaming: gsoreplay 2 pipelines / 4.6 xdp -K" "$(ratio "$(med gsoreplay-stream-2threads)" "$(med tcpreplay-4.6-xdp)")" ">=" 1
check "bulk streaming, the ceiling: inspect alone / tcpreplay 4.6 xdp" "$(ratio "$inspect_fps" "$(med tcpreplay-4.6-xdp)")" ">=" 1
check "small: gsoreplay / tcpreplay 4.6 xdp" "$(ratio "$(med small-gsoreplay-K)" "$(med small-tcpreplay-4.6-xdp)")" ">=" 1
check "small, the ceiling: bare AF_PACKET sender (2 thr) / 4.6 xdp" "$(ratio "$(med small-bare-af-packet-2threads)" "$(med small-tcpreplay-4.6-xdp)")" ">=" 1
check "TSO on: gsoreplay -K / tcpreplay 4.6 xdp (Gbit/s)" "$(ratio "$(medg tso-gsoreplay-K)" "$(medg tso-tcpreplay-4.6-xdp)")" ">=" 3
check "scaling: gsoreplay -K 2 threads / 1 thread" "$(ratio "$(med gsoreplay-K-2threads)" "$(med gsoreplay-K-1thread)")" ">=" 1.7
check "scaling, the ceiling: bare GSO huge pages 2 threads / 1" "$(ratio "$(med bare-gso-big-2threads)" "$(med bare-gso-big-1thread)")" ">=" 1.7
check "scaling, the ceiling: bare GSO of the capture's shape 2 / 1" "$(ratio "$(med bare-gso-shape-2threads)" "$(med bare-gso-shape-1thread)")" ">=" 1.7
check "original timing with 2 threads: end drift over 10 s (ms)" "$drift" "<" 1
check "rewriting cost, streaming: with / without (frames/s)" "$(ratio "$(med rw-rewrite-stream)" "$(med rw-plain-stream)")" ">=" 0.95
check "rewriting cost, -K: with / without (frames/s)" "$(ratio "$(med rw-rewrite-K)" "$(med rw-plain-K)")" ">=" 0.95
formats_checks
check "streaming memory: RSS growth for a $(($(stat -c %s "$bulk") / $(stat -c %s "$work/rec1.pcap")))x larger file (KB)" "$((rss2 - rss1))" "<" 16384
exit $pass
