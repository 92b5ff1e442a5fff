# Sourced by bench/replay.sh and bench/shards.sh (from the repository's
# root, with $work set): builds gsoreplay and bench/tool into $work ($G,
# $T) and records the bulk TCP capture they share once ($bulk: two
# recordings of testdata/record-kernel-traffic.sh joined end to end, two
# data connections, >= 400k frames), kept in $work and reused.
mkdir -p "$work"
go build -o "$work/gsoreplay" ./cmd/gsoreplay
go build -o "$work/tool" ./bench/tool
G=$work/gsoreplay T=$work/tool
bulk=$work/bulk.pcap
if [[ ! -s $bulk ]]; then
  echo "recording bulk TCP between two namespaces (twice) ..." >&2
  testdata/record-kernel-traffic.sh "$work/rec1.pcap" 250M 0 >/dev/null 2>&1
  testdata/record-kernel-traffic.sh "$work/rec2.pcap" 450M 0 >/dev/null 2>&1
  mergecap -a -F pcap -w "$bulk" "$work/rec1.pcap" "$work/rec2.pcap"
fi
