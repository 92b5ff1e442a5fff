# Sourced by testdata/record-*.sh: the parts of a recording between two
# network namespaces that the scripts share. Needs: ip (iproute2), ethtool,
# iperf3, tcpdump. A fixture helper, not part of the product.

# record_tools checks the tools are there.
record_tools() {
  for tool in ip ethtool iperf3 tcpdump; do
    command -v "$tool" >/dev/null || { echo "$0: $tool not found (apt-get install iproute2 ethtool iperf3 tcpdump)" >&2; exit 1; }
  done
}

# record_namespaces PREFIX makes namespaces $a and $b joined by the veth
# pair va-vb, loopbacks up, and removes them (and stops the capture) on exit.
record_namespaces() {
  a=$1-a-$$ b=$1-b-$$
  trap record_cleanup EXIT
  ip netns add "$a"; ip netns add "$b"
  ip -n "$a" link add va type veth peer name vb netns "$b"
  ip -n "$a" link set lo up; ip -n "$b" link set lo up
}

record_cleanup() {
  [[ -n ${dump:-} ]] && kill -INT "$dump" 2>/dev/null && wait "$dump" 2>/dev/null || true
  ip netns pids "$b" 2>/dev/null | xargs -r kill 2>/dev/null || true
  ip netns del "$a" 2>/dev/null || true
  ip netns del "$b" 2>/dev/null || true
}

# record_start OUT starts iperf3's server in $b, waits for it and for both
# addresses (10.99.0.2, fd00:99::2) instead of sleeping blindly, then
# starts tcpdump on $a's va into OUT.
record_start() {
  ip netns exec "$b" iperf3 -s -D >/dev/null
  for _ in $(seq 100); do
    ip netns exec "$b" ss -ltn | grep -q ':5201 ' &&
      ip netns exec "$a" ping -c1 -W1 -q 10.99.0.2 >/dev/null 2>&1 &&
      ip netns exec "$a" ping -6 -c1 -W1 -q fd00:99::2 >/dev/null 2>&1 && break
    sleep 0.1
  done
  log=$(mktemp)
  ip netns exec "$a" tcpdump -i va -s 0 -U --immediate-mode -w "$1" 2>"$log" &
  dump=$!
  for _ in $(seq 100); do grep -q listening "$log" && break; sleep 0.1; done
}

# record_iperf ARGS... runs an iperf3 client in $a.
record_iperf() { ip netns exec "$a" iperf3 "$@" >/dev/null; }

# record_flows TCP_BYTES UDP_COUNT UDP_LEN: a TCP flow of TCP_BYTES and
# UDP_COUNT datagrams of UDP_LEN bytes, over IPv4 and over IPv6 (0 leaves
# a part out).
record_flows() {
  if [[ $1 != 0 ]]; then
    record_iperf -c 10.99.0.2 -n "$1"
    record_iperf -6 -c fd00:99::2 -n "$1"
  fi
  if (($2 > 0)); then
    record_iperf -c 10.99.0.2 -u -b 100M -l "$3" -n $(($2 * $3))
    record_iperf -6 -c fd00:99::2 -u -b 100M -l "$3" -n $(($2 * $3))
  fi
}

# record_stop OUT stops the capture once the last ACKs reached it
# (immediate mode: no block waits for its timeout) and says what OUT holds.
record_stop() {
  sleep 0.2
  kill -INT "$dump"; wait "$dump" || true; dump=
  rm -f "$log"
  echo "$1: $(tcpdump -r "$1" -n 2>/dev/null | wc -l) packets" >&2
}
