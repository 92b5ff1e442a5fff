#!/usr/bin/env bash
# Shards benchmark: the aggregate rate of N=2 processes replaying one
# capture together (replay --shard k/2, one --start-at, each on its own
# veth pair) against one process on one pair, ONE PASS over a large capture
# each, frames counted at the RECEIVING peers (bench/tool watch sums their
# counters, from the first frame to the last), runs alternated RUNS times,
# medians and ratios printed. Preloaded (-K) and streaming, one pipeline a
# process, and one process with two pipelines (--threads 2): what sharding
# gives on one host is what threads give; across hosts it adds NICs. Not a
# target: this machine has 2 CPUs.
#
# Captures: bulk TCP (bench/common.sh records it: two iperf3 recordings
# concatenated, >= 400k frames, two data connections), as pcap and as
# pcapng, and 400k small frames that cannot be merged, of many connections
# (bench/tool small).
#
# Usage (root): bench/shards.sh [WORKDIR]     RUNS=3 by default
# Needs: go, ip, ethtool, mergecap (tshark), iperf3, tcpdump; the same
# WORKDIR as bench/replay.sh reuses its captures.
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-${TMPDIR:-/tmp}/gsoreplay-bench}
runs=${RUNS:-3}
. bench/common.sh
small=$work/small.pcap
[[ -s $small ]] || "$T" small -o "$small" -n 400000
# The bulk capture as pcapng too (mergecap's and dumpcap's format).
[[ -s $work/bulk.pcapng ]] || editcap -F pcapng "$bulk" "$work/bulk.pcapng"
frames() { "$G" inspect --json "$1" | sed -n 's/^  "packets": \([0-9]*\),$/\1/p' | head -1; }
echo "machine: $(nproc) CPUs, $(uname -r)"

a=gsr-shb-a-$$ b=gsr-shb-b-$$
cleanup() { ip netns del "$a" 2>/dev/null || true; ip netns del "$b" 2>/dev/null || true; }
trap cleanup EXIT
ip netns add "$a"; ip netns add "$b"
for ns in "$a" "$b"; do ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1; done
for i in 0 1; do
  ip -n "$a" link add "va$i" type veth peer name "vb$i" netns "$b"
  ip netns exec "$a" ethtool -K "va$i" tx off tso off gso off tx-udp-segmentation off >/dev/null 2>&1
  ip -n "$a" link set "va$i" up; ip -n "$b" link set "vb$i" up
done
sleep 1

# measure NAME EXPECTED PEERS SCRIPT: one run of SCRIPT (bash, in A);
# appends the frames a second the peers PEERS (comma list) received.
declare -A fps
measure() {
  local name=$1 want=$2 peers=$3 script=$4
  ip netns exec "$b" "$T" watch -i "$peers" -n "$want" -quiet 10s >"$work/watch.json" 2>"$work/watch.err" &
  local w=$!
  until grep -q watching "$work/watch.err" 2>/dev/null; do sleep 0.01; done
  if ! ip netns exec "$a" bash -c "$script" >"$work/$name.log" 2>&1; then
    kill "$w" 2>/dev/null || true
    echo "$0: $name failed:" >&2; cat "$work/$name.log" >&2; exit 1
  fi
  wait "$w"
  local got
  got=$(sed -n 's/.*"frames":\([0-9]*\).*/\1/p' "$work/watch.json")
  ((got >= want)) || echo "  ($name: the peers received $got of $want frames)" >&2
  fps[$name]+="$(sed -n 's/.*"fps":\([0-9.]*\).*/\1/p' "$work/watch.json") "
}
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }
med() { echo "${fps[$1]}" | median; }

for cap in bulk.pcap bulk.pcapng small.pcap; do
  f=$work/$cap
  n=$(frames "$f")
  echo "== $cap: $f, $n frames"
  for mode in K stream; do
    k=""; lead=2
    # A preload takes seconds: the shared start leaves room for it.
    [[ $mode == K ]] && k="-K" lead=12
    for ((r = 1; r <= runs; r++)); do
      measure "$cap-$mode-1proc" "$n" vb0 "$G replay -q -t $k --threads 1 -i va0 $f"
      measure "$cap-$mode-1proc2thr" "$n" vb0 "$G replay -q -t $k --threads 2 -i va0 $f"
      measure "$cap-$mode-2shards" "$n" vb0,vb1 "S=\$(date -u -d +${lead}sec +%Y-%m-%dT%H:%M:%S.%6NZ)
        $G replay -q -t $k --threads 1 -i va0 --shard 0/2 --start-at \$S $f & p=\$!
        $G replay -q -t $k --threads 1 -i va1 --shard 1/2 --start-at \$S $f; wait \$p"
    done
    one=$(med "$cap-$mode-1proc") two=$(med "$cap-$mode-1proc2thr") sh=$(med "$cap-$mode-2shards")
    printf '%-12s %-6s 1 process 1 thread %10.0f fps | 1 process 2 threads %10.0f fps | 2 shards %10.0f fps | 2 shards / 1 process: %.2f (against 2 threads: %.2f)\n' \
      "$cap" "$mode" "$one" "$two" "$sh" "$(echo "$sh / $one" | bc -l)" "$(echo "$sh / $two" | bc -l)"
  done
done
