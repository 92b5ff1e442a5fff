#!/usr/bin/env bash
# Verify benchmark: is `gsoreplay verify` fast and lean enough to prove large
# captures? Whole-program runs, in ONE run on the same files:
# `gsoreplay verify --json FILE` (it builds its own lab of two namespaces,
# replays FILE, captures every segmented frame and compares it with the
# capture) alternated RUNS times with a plain streaming replay of the same
# file at top speed, `gsoreplay replay -t --json -i va FILE` (no -K), through
# a veth pair in two namespaces set up like bench/replay.sh's (sender A with
# tx, tso, gso and udp segmentation off, so the kernel segments in
# software). The replay is the yardstick: verify sends the same frames the
# same way and has, on top, to capture and compare them, so its rate against
# the replay's is what proving costs.
#
# Each command's wall time and peak RSS are taken with /usr/bin/time; rate =
# frames in the capture (gsoreplay inspect --json: "packets") / wall seconds.
# Captures: real bulk TCP of about each size in SIZES (pcap; recordings of
# testdata/record-kernel-traffic.sh, kept in WORKDIR and reused when present
# and large enough). Memory that grows with the file shows as the larger
# size's RSS. Every verify's verdict and its own "seconds" are printed; a
# verdict other than "exact" is reported loudly and makes the exit status 1.
#
# Prints per size the medians and the targets: verify / replay -t rate
# >= 0.5, verify peak RSS (the most of its runs) < 256 MiB; exit 1 when a
# target is missed. It also times two limits: the same replay with nothing
# but tcpdump capturing at the tap (-w /dev/null; column tap/r), and
# verify without its comparison (bench/tool labcapture: verify's own lab,
# replay and capture at the tap, each frame counted; column bare/r), the
# ceiling of verify's rate on this machine; v/bare is what the comparison
# leaves of it.
#
# Usage (root): bench/verify.sh [WORKDIR]
#   RUNS=5               runs of each command per size (alternating)
#   SIZES="450M 1500M"   capture sizes (M = 10^6 bytes, G = 10^9), each about
#                        so large (tcpdump drops at full speed, so the size
#                        recorded varies: up to four recordings, rescaled,
#                        until one is within -10 %..+25 % of it)
#   e.g. RUNS=1 SIZES=450M bench/verify.sh /tmp/vbench
# Needs: go, ip, ethtool, iperf3, tcpdump (testdata/record-kernel-traffic.sh and the tap),
# /usr/bin/time (GNU time), bc.
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-${TMPDIR:-/tmp}/gsoreplay-bench-verify} # not replay.sh's: it records its own captures
runs=${RUNS:-5}
read -ra sizes <<<"${SIZES:-450M 1500M}"
((${#sizes[@]} > 0)) || { echo "$0: SIZES is empty" >&2; exit 1; }
mkdir -p "$work"
for tool in go ip ethtool iperf3 tcpdump bc /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "$0: $tool not found (apt-get install iproute2 ethtool iperf3 tcpdump bc time)" >&2; exit 1; }
done
go build -o "$work/gsoreplay" ./cmd/gsoreplay
go build -o "$work/tool" ./bench/tool
G=$work/gsoreplay

fsize() { stat -c %s "$1" 2>/dev/null || echo 0; }
# bytes SIZE: 450M -> 450000000, 2G -> 2000000000.
bytes() {
  [[ $1 =~ ^([0-9]+)([MG])$ ]] || { echo "$0: size $1: want a number and M or G (450M, 2G)" >&2; exit 1; }
  local unit=1000000
  [[ ${BASH_REMATCH[2]} == G ]] && unit=1000000000
  echo $((BASH_REMATCH[1] * unit))
}
for s in "${sizes[@]}"; do bytes "$s" >/dev/null; done # bad sizes fail before anything is recorded

# record SIZE: $work/bulk-SIZE.pcap of about SIZE. The recording script sends
# BYTES_PER_TCP_FLOW over IPv4 and again over IPv6; measured here, one MiB
# per flow gave 1.17 to 1.31 MB of pcap (two flows, headers, pcap records,
# few ACKs: the receiver's GRO acks 64 KiB at a time, less tcpdump's drops,
# which vary), hence 0.8 MiB per flow per MB wanted, rescaled by what came.
record() {
  local size=$1 cap=$work/bulk-$1.pcap want per got try
  want=$(bytes "$size")
  if (($(fsize "$cap") >= want * 9 / 10)); then return; fi
  per=$((want * 8 / 10 / 1000000))
  for try in 1 2 3 4; do
    echo "recording about $size of bulk TCP between two namespaces (${per}M a flow) ..." >&2
    testdata/record-kernel-traffic.sh "$work/recording.pcap" "${per}M" 0 >/dev/null 2>&1
    got=$(fsize "$work/recording.pcap")
    ((got > 0)) || { echo "$0: testdata/record-kernel-traffic.sh recorded nothing" >&2; exit 1; }
    if ((got >= want * 9 / 10 && got <= want * 5 / 4)) || ((try == 4)); then break; fi
    per=$((per * want / got))
    echo "  ($got bytes: again)" >&2
  done
  (($(fsize "$work/recording.pcap") >= want * 9 / 10)) || { echo "$0: could not record $size" >&2; exit 1; }
  mv "$work/recording.pcap" "$cap"
}
frames() { "$G" inspect --json "$1" | sed -n 's/^  "packets": \([0-9]*\),$/\1/p' | head -1; }
declare -A nframes
for s in "${sizes[@]}"; do
  record "$s"
  nframes[$s]=$(frames "$work/bulk-$s.pcap")
done
echo "machine: $(nproc) CPUs, $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg), $(awk '/MemTotal/ {printf "%d MiB", $2 / 1024}' /proc/meminfo)"
for s in "${sizes[@]}"; do
  echo "capture $s: $work/bulk-$s.pcap, $(fsize "$work/bulk-$s.pcap") bytes, ${nframes[$s]} frames"
done

# The replay's lab, as bench/replay.sh's: A sends on va, B's vb receives.
a=gsr-vbench-a-$$ b=gsr-vbench-b-$$
# shellcheck disable=SC2317 # called by the trap
cleanup() { ip netns del "$a" 2>/dev/null || true; ip netns del "$b" 2>/dev/null || true; }
trap cleanup EXIT
ip netns add "$a"; ip netns add "$b"
ip -n "$a" link add va type veth peer name vb netns "$b"
ip netns exec "$a" ethtool -K va tx off tso off gso off tx-udp-segmentation off >/dev/null 2>&1
for ns in "$a" "$b"; do ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1; done
ip -n "$a" link set va up; ip -n "$b" link set vb up

declare -A wall maxrss own verdicts
status=0
# timed NAME SIZE COMMAND...: one run under /usr/bin/time; appends the wall
# seconds to wall[NAME/SIZE], keeps the largest RSS in maxrss[NAME/SIZE]
# (KB); the command's standard output is left in $work/NAME.out. Returns
# the command's exit status.
timed() {
  local name=$1 size=$2 rc=0 t m; shift 2
  /usr/bin/time -o "$work/time.txt" -f '%e %M' "$@" >"$work/$name.out" 2>"$work/$name.err" || rc=$?
  # GNU time writes "Command exited with non-zero status N" first.
  read -r t m < <(tail -1 "$work/time.txt")
  wall[$name/$size]+="$t "
  ((m > ${maxrss[$name/$size]:-0})) && maxrss[$name/$size]=$m
  return $rc
}
json() { grep -o "\"$2\":[^,}]*" "$1" | head -1 | cut -d: -f2- | tr -d '"'; } # FILE KEY: a top-level scalar

for ((i = 1; i <= runs; i++)); do
  for s in "${sizes[@]}"; do
    cap=$work/bulk-$s.pcap n=${nframes[$s]}
    cat "$cap" >/dev/null # the same page cache for both

    rc=0
    timed verify "$s" "$G" verify --json "$cap" || rc=$?
    if [[ ! -s $work/verify.out ]] || ((rc > 1)); then
      echo "$0: verify $cap failed (exit $rc):" >&2; cat "$work/verify.err" >&2; exit 1
    fi
    v=$(json "$work/verify.out" verdict) secs=$(json "$work/verify.out" seconds)
    own[$s]+="$secs " verdicts[$s]+="$v "
    printf 'run %d/%d %-6s verify:    %7.2f s wall (own %.2f s), %6d MiB, %s: %s of %s expected frames exact\n' "$i" "$runs" "$s" \
      "$(tail -1 "$work/time.txt" | cut -d' ' -f1)" "$secs" $(($(tail -1 "$work/time.txt" | cut -d' ' -f2) / 1024)) \
      "$v" "$(json "$work/verify.out" exact)" "$(json "$work/verify.out" expected)"
    if [[ $v != exact ]]; then
      status=1
      {
        echo "!!! verify of $cap was NOT EXACT: verdict \"$v\" (exit $rc): missing $(json "$work/verify.out" missing)," \
          "mismatched $(json "$work/verify.out" mismatched), extra $(json "$work/verify.out" extra)," \
          "reordered $(json "$work/verify.out" reordered), drops $(json "$work/verify.out" drops)" \
          "$(grep -o '"drops_by":{[^}]*}' "$work/verify.out" || true)"
        grep -o '"details":\[[^]]*\]' "$work/verify.out" | head -c 2000 || true
        echo
      } >&2
    fi

    if ! timed replay "$s" ip netns exec "$a" "$G" replay -i va -t --json "$cap"; then
      echo "$0: replay $cap failed:" >&2; cat "$work/replay.err" >&2; exit 1
    fi
    sent=$(json "$work/replay.out" packets) failed=$(json "$work/replay.out" failed)
    printf 'run %d/%d %-6s replay -t: %7.2f s wall (own %.2f s), %6d MiB, %s frames sent\n' "$i" "$runs" "$s" \
      "$(tail -1 "$work/time.txt" | cut -d' ' -f1)" "$(json "$work/replay.out" seconds)" $(($(tail -1 "$work/time.txt" | cut -d' ' -f2) / 1024)) "$sent"
    if ((sent != n || failed != 0)); then
      echo "  (replay sent $sent of $n frames, $failed failed: its rate is over the capture's frames all the same)" >&2
    fi

    # The limit: the same replay with nothing but a capture at the tap
    # (tcpdump's TPACKET_V3 ring, written to /dev/null), what any verify
    # that captures at the sender must pay.
    ip netns exec "$a" tcpdump -i va -Q out -B 65536 -w /dev/null 2>"$work/tcpdump.err" &
    local_tp=$!
    until grep -q listening "$work/tcpdump.err" 2>/dev/null; do sleep 0.01; done
    if ! timed tapped "$s" ip netns exec "$a" "$G" replay -i va -t --json "$cap"; then
      echo "$0: replay $cap under a capture failed:" >&2; cat "$work/tapped.err" >&2; exit 1
    fi
    kill "$local_tp"; wait "$local_tp" 2>/dev/null || true
    printf 'run %d/%d %-6s replay -t, tcpdump at the tap: %7.2f s wall\n' "$i" "$runs" "$s" "$(tail -1 "$work/time.txt" | cut -d' ' -f1)"

    # The other limit: verify without its comparison (bench/tool
    # labcapture: verify's lab, replay and capture, each frame counted).
    if ! timed bare "$s" "$work/tool" labcapture "$cap"; then
      echo "$0: tool labcapture $cap failed:" >&2; cat "$work/bare.err" >&2; exit 1
    fi
    printf 'run %d/%d %-6s verify without comparing (tool labcapture): %7.2f s wall\n' "$i" "$runs" "$s" "$(tail -1 "$work/time.txt" | cut -d' ' -f1)"
  done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }
okay() { [[ $(echo "$1" | bc -l) == 1 ]] && echo ok || echo MISSED; } # a bc condition
echo "== verify against a streaming replay (replay -t, no -K) of the same capture: medians of $runs runs, peak RSS the most of them"
printf '%-6s %6s %9s %11s %11s %6s %-6s %10s %-6s %10s %7s %8s %8s %8s  %s\n' size MB frames "verify f/s" "replay f/s" v/r ">=0.5" "verify MiB" "<256" "replay MiB" "own s" "tap/r" "bare/r" "v/bare" "verdicts"
for s in "${sizes[@]}"; do
  n=${nframes[$s]}
  vw=$(median <<<"${wall[verify/$s]}") rw=$(median <<<"${wall[replay/$s]}")
  vr=$(echo "$n / $vw" | bc -l) rr=$(echo "$n / $rw" | bc -l)
  ratio=$(echo "$vr / $rr" | bc -l)
  vmib=$(echo "${maxrss[verify/$s]} / 1024" | bc -l) rmib=$(echo "${maxrss[replay/$s]} / 1024" | bc -l)
  speed=$(okay "$ratio >= 0.5") memory=$(okay "$vmib < 256")
  tw=$(median <<<"${wall[tapped/$s]}")
  tap=$(echo "$rw / $tw" | bc -l) # the rate a replay keeps with a bare capture at the tap: verify's ceiling
  bw=$(median <<<"${wall[bare/$s]}")
  bare=$(echo "$rw / $bw" | bc -l) vbare=$(echo "$bw / $vw" | bc -l)
  [[ $speed == ok && $memory == ok ]] || status=1
  printf '%-6s %6d %9d %11.0f %11.0f %6.2f %-6s %10.1f %-6s %10.1f %7.2f %8.2f %8.2f %8.2f  %s\n' "$s" $(($(fsize "$work/bulk-$s.pcap") / 1000000)) "$n" \
    "$vr" "$rr" "$ratio" "$speed" "$vmib" "$memory" "$rmib" "$(median <<<"${own[$s]}")" "$tap" "$bare" "$vbare" "${verdicts[$s]% }"
done
echo "tap/r: the rate of the same replay with only tcpdump capturing at the tap, against the replay's"
echo "bare/r: the rate of verify without its comparison (its lab, replay and capture: bench/tool labcapture), against the replay's: the most a verify that captures every frame can reach here"
echo "v/bare: verify's rate against that: what the comparison costs"
for s in "${sizes[@]}"; do
  echo "$s wall seconds of each run: verify ${wall[verify/$s]% }; replay -t ${wall[replay/$s]% }; replay -t under tcpdump ${wall[tapped/$s]% }; tool labcapture ${wall[bare/$s]% }"
done
for s in "${sizes[@]}"; do
  if tr ' ' '\n' <<<"${verdicts[$s]}" | grep -q -v -x -e exact -e ''; then
    echo "!!! $s: verify was NOT EXACT (verdicts: ${verdicts[$s]% }): see above" >&2
  fi
done
exit $status
