package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gsoreplay/gsoreplay/internal/testcap"
	"github.com/gsoreplay/gsoreplay/internal/testenv"
	"github.com/gsoreplay/gsoreplay/replay/verify"
)

// TestRewriteOnTheWire: the frames gsoreplay puts on the wire with
// tcprewrite's flags (captured in the lab by verify) are byte for byte the
// frames tcprewrite 4.6 writes with the same flags, in the capture's order;
// verify calls every one exact, and the merges are those of the original.
func TestRewriteOnTheWire(t *testing.T) {
	testenv.RequireRoot(t)
	bin := "../../../shared/anchors/tcpreplay-4.6/bin/tcprewrite"
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("tcprewrite 4.6 missing in CI: %v", err)
		}
		t.Skip("no tcprewrite 4.6")
	}
	pnat := "--pnat=10.99.0.0/24:192.168.7.0/24,[fd00:99::/64]:[2001:db8:7::/64]"
	for _, row := range []struct {
		in    string
		flags []string
	}{
		{fixture, []string{pnat, "--ttl=33", "--portmap=5201:9999", "--enet-dmac=02:11:22:33:44:55", "--enet-smac=02:aa:bb:cc:dd:ee"}},
		{fixture, []string{"--enet-vlan=add", "--enet-vlan-tag=42", "--enet-vlan-pri=5", "--srcipmap=10.99.0.1/32:192.0.2.1/32", "--fixcsum"}},
		// (--ttl and --fixcsum make tcprewrite write into IPv6 fragments'
		// payload: coalesce/rewrite's tests hold the right frames.)
		{"../../testdata/kernel-fragments.pcap", []string{pnat, "--enet-dmac=02:11:22:33:44:55"}},
		// Frame by frame: cut to an MTU, TSO/GRO host frames too.
		{fixture, []string{"--mtu=1000", "--mtu-trunc", pnat}},
		{"../../testdata/tso-host.pcap", []string{"--mtu-trunc"}},
		{"../../testdata/kernel-fragments.pcap", []string{"--enet-vlan=add", "--enet-vlan-tag=7", "--dstipmap=10.99.0.0/24:198.51.100.0/24"}},
	} {
		in, flags := row.in, row.flags
		name := filepath.Base(in) + " " + strings.Join(flags, " ")
		dir := t.TempDir()
		want := filepath.Join(dir, "tcprewrite.pcap")
		if msg, err := exec.Command(bin, append(flags, "-i", in, "-o", want)...).CombinedOutput(); err != nil {
			t.Fatalf("%s: tcprewrite: %v %s", name, err, msg)
		}
		args := append([]string{"verify", "--json", "--threads", "1", "--keep", dir}, flags...)
		code, out, stderr := gsoreplay(t, nil, append(args, in)...)
		if code != 0 {
			t.Fatalf("%s: verify: exit %d: %s%s", name, code, out, stderr)
		}
		var rep verify.Report
		perFrame := strings.Contains(strings.Join(flags, " "), "mtu-trunc") // sent frame by frame
		if err := json.Unmarshal([]byte(out), &rep); err != nil || (rep.SuperPackets == 0) != perFrame || rep.Exact != rep.Expected {
			t.Fatalf("%s: %v %+v", name, err, rep)
		}
		got := testcap.Frames(t, filepath.Join(dir, strings.TrimSuffix(filepath.Base(in), ".pcap")+".captured.pcapng"))
		wantFrames := testcap.Frames(t, want)
		if len(got) != len(wantFrames) {
			t.Fatalf("%s: %d frames on the wire, tcprewrite wrote %d", name, len(got), len(wantFrames))
		}
		for i := range got {
			if !bytes.Equal(got[i], wantFrames[i]) {
				t.Fatalf("%s: frame %d on the wire differs from tcprewrite's", name, i+1)
			}
		}
	}
}
