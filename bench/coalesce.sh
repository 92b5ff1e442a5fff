#!/usr/bin/env bash
# Whole-program benchmark of `gsoreplay coalesce` against the named anchors,
# in one run, on the same file: `editcap -F pcapng` (rewrites a capture as
# pcapng: the same reading and writing, no merging) and `cat` (the cost of
# moving the bytes). Prints medians, peak memory and the ratios with their
# targets: coalesce <= 0.5x editcap, <= 3x cat, peak RSS < 64 MiB.
#
# With BASELINE=REV (a git revision) it also builds that revision and times
# both binaries alternately on the capture and on its pcapng form (editcap),
# printing new/baseline ratios of time and peak memory: how a change moved
# coalescing speed and memory.
#
# Usage (root, for the namespaces that record the capture):
#   bench/coalesce.sh [WORKDIR]       WORKDIR keeps the capture between runs
#   BASELINE=HEAD~3 bench/coalesce.sh [WORKDIR]
# Needs: go, editcap (wireshark-common or tshark), GNU time, and for the
# capture ip, ethtool, iperf3, tcpdump (testdata/record-kernel-traffic.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-${TMPDIR:-/tmp}/gsoreplay-bench-coalesce} # not replay.sh's: each records its own capture
runs=${RUNS:-7}
min_bytes=$((150 * 1024 * 1024))
mkdir -p "$work"
for tool in editcap /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "$0: $tool not found (apt-get install tshark time)" >&2; exit 1; }
done
cap=$work/bulk.pcap
size() { stat -c %s "$1" 2>/dev/null || echo 0; }
if (( $(size "$cap") < min_bytes )); then
  echo "recording >= 150 MB of bulk TCP between two namespaces ..." >&2
  testdata/record-kernel-traffic.sh "$cap" 120M 10 2>/dev/null
  # tcpdump may drop at full speed; append more recordings until big enough.
  while (( $(size "$cap") < min_bytes )); do
    testdata/record-kernel-traffic.sh "$work/more.pcap" 60M 10 2>/dev/null
    mergecap -a -F pcap -w "$work/joined.pcap" "$cap" "$work/more.pcap"
    mv "$work/joined.pcap" "$cap"; rm -f "$work/more.pcap"
  done
fi
go build -o "$work/gsoreplay" ./cmd/gsoreplay
cat "$cap" >/dev/null # warm the page cache for every contender alike

declare -A times rss
measure() { # name, command...
  local name=$1; shift
  rm -f "$work"/out.*; sync
  /usr/bin/time -o "$work/time.txt" -f '%e %M' "$@" >/dev/null 2>&1 || { echo "$0: $name failed" >&2; exit 1; }
  local t m
  read -r t m <"$work/time.txt"
  times[$name]+="$t "
  rss[$name]=$m
}
if [[ -n ${BASELINE:-} ]]; then
  rm -rf "$work/baseline-tree"
  git worktree add -q --detach "$work/baseline-tree" "$BASELINE"
  (cd "$work/baseline-tree" && go build -o "$work/gsoreplay-baseline" ./cmd/gsoreplay)
  git worktree remove --force "$work/baseline-tree"
  [[ -s $work/bulk.pcapng ]] || editcap -F pcapng "$cap" "$work/bulk.pcapng"
fi
for ((i = 0; i < runs; i++)); do
  measure cat sh -c "cat '$cap' > '$work/out.cat'"
  measure editcap editcap -F pcapng "$cap" "$work/out.pcapng"
  measure coalesce "$work/gsoreplay" coalesce -q -o "$work/out.super.pcapng" "$cap"
  if [[ -n ${BASELINE:-} ]]; then
    measure baseline "$work/gsoreplay-baseline" coalesce -q -o "$work/out.super.pcapng" "$cap"
    measure ng "$work/gsoreplay" coalesce -q -o "$work/out.super.pcapng" "$work/bulk.pcapng"
    measure ng-baseline "$work/gsoreplay-baseline" coalesce -q -o "$work/out.super.pcapng" "$work/bulk.pcapng"
  fi
done
median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
c=$(median <<<"${times[cat]}"); e=$(median <<<"${times[editcap]}"); g=$(median <<<"${times[coalesce]}")
pkts=$("$work/gsoreplay" inspect --json "$cap" | awk -F'[:,]' '/"packets"/ {print $2; exit}')
printf 'capture: %s, %d MB, %s packets\n' "$cap" $(( $(size "$cap") / 1000000 )) "$pkts"
printf '%-10s %8s %10s\n' tool "median s" "peak RSS"
printf '%-10s %8s %7s KB\n' cat "$c" "${rss[cat]}" editcap "$e" "${rss[editcap]}" "gsoreplay" "$g" "${rss[coalesce]}"
status=0
check() { # label, value, op, limit
  if [[ $2 =~ ^[0-9.]+$ ]] && awk -v v="$2" -v l="$4" "BEGIN {exit !(v $3 l)}"; then r=ok; else r=MISSED; status=1; fi
  printf '%-34s %8.2f  (target %s %s)  %s\n' "$1" "$2" "$3" "$4" "$r"
}
check "coalesce / editcap (time ratio)" "$(awk -v a="$g" -v b="$e" 'BEGIN {print a/b}')" "<=" 0.5
check "coalesce / cat (time ratio)" "$(awk -v a="$g" -v b="$c" 'BEGIN {print a/b}')" "<=" 3
check "coalesce peak RSS (MiB)" "$(awk -v k="${rss[coalesce]}" 'BEGIN {print k/1024}')" "<" 64
if [[ -n ${BASELINE:-} ]]; then
  for pair in "pcap coalesce baseline" "pcapng ng ng-baseline"; do
    read -r label new old <<<"$pair"
    tn=$(median <<<"${times[$new]}"); to=$(median <<<"${times[$old]}")
    printf '%-7s now %5ss %6s KB, %s %5ss %6s KB: time x%.2f, memory x%.2f\n' "$label" "$tn" "${rss[$new]}" "$BASELINE" "$to" "${rss[$old]}" \
      "$(awk -v a="$tn" -v b="$to" 'BEGIN {print a/b}')" "$(awk -v a="${rss[$new]}" -v b="${rss[$old]}" 'BEGIN {print a/b}')"
  done
fi
exit $status
