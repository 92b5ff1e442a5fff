package coalesce

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/gsoreplay/gsoreplay/internal/testenv"
	"github.com/gsoreplay/gsoreplay/pcaps"
)

func requireRoot(t *testing.T, tools ...string) { t.Helper(); testenv.RequireRoot(t, tools...) }

// payloadShare coalesces a capture and returns how many packets carried a
// TCP/UDP payload and how many of those ended up inside super-packets.
func payloadShare(t *testing.T, capture []byte) (payload, merged int64) {
	r, err := pcaps.NewReader(bytes.NewReader(capture), "capture")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range readAll(t, r) {
		info := Describe(f.data, f.length, pcapsLinkType(f.lt), f.iface)
		if (info.Proto == protoTCP || info.Proto == protoUDP) && info.Reason != ReasonNoPayload && info.Reason != ReasonTCPFlags {
			payload++
		}
	}
	orig, back, st := roundTrip(t, capture, DefaultOptions())
	compareFrames(t, orig, back)
	return payload, st.Merged
}

// TestKernelFixtureMerges: bulk traffic recorded from the kernel (the
// committed sample) mostly ends up in super-packets.
func TestKernelFixtureMerges(t *testing.T) {
	data, err := os.ReadFile("../testdata/kernel-traffic.pcap")
	if err != nil {
		t.Fatal(err)
	}
	payload, merged := payloadShare(t, data)
	t.Logf("%d of %d payload packets merged", merged, payload)
	if merged*10 < payload*8 {
		t.Errorf("only %d of %d payload packets merged, want at least 80%%", merged, payload)
	}
}

// TestKernelTrafficFresh records new traffic between two namespaces with the
// fixture script and checks the round trip and the merge ratio on it.
func TestKernelTrafficFresh(t *testing.T) {
	requireRoot(t, "ip", "ethtool", "iperf3", "tcpdump")
	out := filepath.Join(t.TempDir(), "fresh.pcap")
	cmd := exec.Command("../testdata/record-kernel-traffic.sh", out, "1M", "300")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("recording: %v\n%s", err, b)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	payload, merged := payloadShare(t, data)
	t.Logf("%d of %d payload packets merged", merged, payload)
	if payload < 500 || merged*10 < payload*8 {
		t.Errorf("%d of %d payload packets merged, want at least 80%% of at least 500", merged, payload)
	}
}
