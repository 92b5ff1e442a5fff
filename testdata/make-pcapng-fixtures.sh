#!/usr/bin/env bash
# Makes the pcapng fixtures with Wireshark's own writers, not gsoreplay's, so
# that the round-trip tests compare against files an independent tool wrote:
#
#   ng-tls.pcapng        dumpcap capture of a TLS download between two
#                        namespaces (section: hardware, OS, application;
#                        interface: name, description, filter, ns resolution;
#                        interface statistics), then editcap: a capture
#                        comment, a packet comment, the TLS keys as a
#                        decryption secrets block.
#   ng-direction.pcapng  text2pcap -D: every packet with an epb_flags
#                        direction (inbound/outbound), identical within a
#                        flow, so super-packets must keep it.
#   ng-names.pcapng      tshark -W n: a name resolution block; microsecond
#                        interface (editcap from a pcap), packet comments, two
#                        runs of segments with the very same comment.
#   ng-sections.pcapng   three sections (ng-direction, ng-names, then dumpcap's
#                        own file with its interface statistics block, which
#                        editcap leaves out of ng-tls), each with its own
#                        interface and resolution.
#
# Usage (root): testdata/make-pcapng-fixtures.sh [OUTDIR]   (default testdata)
# Needs: ip, ethtool, openssl, tshark (dumpcap, editcap, text2pcap), python3.
# A fixture script, not part of the product.
set -euo pipefail
out=$(realpath "${1:-$(dirname "$0")}")
src=$(realpath "$(dirname "$0")/kernel-traffic.pcap")
for tool in ip ethtool openssl dumpcap editcap text2pcap tshark python3; do
  command -v "$tool" >/dev/null || { echo "$0: $tool not found" >&2; exit 1; }
done
a=gsr-fx-a-$$ b=gsr-fx-b-$$
work=$(mktemp -d)
cleanup() {
  ip netns del "$a" 2>/dev/null || true
  ip netns del "$b" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work"

# --- ng-tls: a real capture by dumpcap, with secrets and comments by editcap.
ip netns add "$a"
ip netns add "$b"
ip -n "$a" link add va type veth peer name vb netns "$b"
for ns in "$a:va:10.9.0.1" "$b:vb:10.9.0.2"; do
  IFS=: read -r n dev addr <<<"$ns"
  # Offloads off: full checksums and MTU-sized segments on the wire.
  ip netns exec "$n" ethtool -K "$dev" tx off tso off gso off gro off >/dev/null 2>&1 || true
  ip -n "$n" addr add "$addr/24" dev "$dev"
  ip -n "$n" link set "$dev" up
  ip -n "$n" link set lo up
done
openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -days 3650 -subj /CN=gsoreplay.test 2>/dev/null
head -c 90000 /dev/urandom | base64 >big.txt
ip netns exec "$a" openssl s_server -accept 10.9.0.1:4433 -cert cert.pem -key key.pem -WWW -quiet >/dev/null 2>&1 &
server=$!
ip netns exec "$a" dumpcap -q -i va -f "tcp port 4433" -w tls.pcapng 2>/dev/null &
cap=$!
for _ in $(seq 50); do
  ip netns exec "$a" ss -ltn 2>/dev/null | grep -q 4433 && break
  sleep 0.1
done
sleep 0.5 # dumpcap's filter in place
printf 'GET /big.txt HTTP/1.0\r\n\r\n' |
  ip netns exec "$b" timeout 10 openssl s_client -connect 10.9.0.1:4433 -keylogfile keys.txt -quiet >/dev/null 2>&1 || true
sleep 0.3
kill -INT "$cap"
wait "$cap" || true
kill "$server" 2>/dev/null || true
editcap --inject-secrets tls,keys.txt \
  --capture-comment "made by gsoreplay's testdata/make-pcapng-fixtures.sh" \
  -a 3:"the client's hello, commented" tls.pcapng "$out/ng-tls.pcapng"

# --- ng-direction: text2pcap with a direction before each frame.
python3 - "$src" 160 >dump.txt <<'PY'
# text2pcap input from a little-endian microsecond pcap: a direction (O when
# the source port is the lower, else I) and the time before each frame.
import struct, sys, time
data = open(sys.argv[1], 'rb').read()
assert struct.unpack('<I', data[:4])[0] == 0xa1b2c3d4
off, n = 24, 0
while off < len(data) and n < int(sys.argv[2]):
    sec, usec, caplen, _ = struct.unpack('<IIII', data[off:off + 16])
    frame = data[off + 16:off + 16 + caplen]
    off, n = off + 16 + caplen, n + 1
    sport, dport = struct.unpack('>HH', frame[34:38]) if len(frame) >= 38 else (0, 0)
    t = time.gmtime(sec)
    print(f"{'O' if sport < dport else 'I'} {t.tm_hour:02}:{t.tm_min:02}:{t.tm_sec:02}.{usec:06}")
    for i in range(0, len(frame), 16):
        print(f"{i:06x} " + ' '.join(f"{b:02x}" for b in frame[i:i + 16]))
PY
text2pcap -q -D -t "%H:%M:%S." dump.txt "$out/ng-direction.pcapng"

# --- ng-names: microsecond pcapng, names, comments.
comments=()
for f in 20 21 22 23 40 41 42; do comments+=(-a "$f:one comment for a run of segments"); done
editcap -F pcapng -r "${comments[@]}" -a 3:"a SYN, commented" "$src" head.pcapng 1-160
printf '10.99.0.1 sender.gsoreplay.test\n10.99.0.2 receiver.gsoreplay.test\n' >hosts
# Full dissection (-V) is what makes tshark resolve, and -W n write, names.
tshark -r head.pcapng -H hosts -N nd -W n -V -w "$out/ng-names.pcapng" >/dev/null

# --- ng-sections: three sections, as cat of pcapng files makes.
cat "$out/ng-direction.pcapng" "$out/ng-names.pcapng" tls.pcapng >"$out/ng-sections.pcapng"
ls -l "$out"/ng-*.pcapng
