package verify

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/gsoreplay/gsoreplay/coalesce"
	"github.com/gsoreplay/gsoreplay/coalesce/capfile"
	"github.com/gsoreplay/gsoreplay/coalesce/gso"
	"github.com/gsoreplay/gsoreplay/internal/testcap"
	"github.com/gsoreplay/gsoreplay/internal/testenv"
	"github.com/gsoreplay/gsoreplay/pcaps"
	"github.com/gsoreplay/gsoreplay/pcaps/craft"
	"github.com/gsoreplay/gsoreplay/replay"
)

// gopacketFrames reads a pcap with gopacket, the independent decoder, and
// counts the frames GRO can merge: TCP or UDP with a payload, not fragments.
func gopacketFrames(t *testing.T, path string) (frames [][]byte, payload int) {
	t.Helper()
	frames = testcap.Frames(t, path)
	for _, d := range frames {
		p := gopacket.NewPacket(d, layers.LayerTypeEthernet, gopacket.NoCopy)
		ip4, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		if tl := p.TransportLayer(); tl != nil && len(tl.LayerPayload()) > 0 && (ip4 == nil || ip4.Flags&layers.IPv4MoreFragments == 0 && ip4.FragOffset == 0) {
			payload++
		}
	}
	return frames, payload
}

// TestVerifyGRO: real kernel traffic and a dumpcap recording sent frame by
// frame into the lab's GRO: every GRO packet lossless, at least half the
// frames with a payload merged, and what --keep writes segments back into
// the input (read with gopacket).
func TestVerifyGRO(t *testing.T) {
	testenv.RequireRoot(t)
	inputs := kernelInputs(t)
	for _, in := range inputs {
		dir := t.TempDir()
		open := func() (*pcaps.Reader, error) { return pcaps.Open(in) }
		rep, err := VerifyGRO(context.Background(), in, open, GROOptions{Coalesce: coalesce.DefaultOptions(), Keep: dir})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Verdict != GROLossless || rep.Lossy != 0 || rep.GROPackets == 0 || rep.Lossless != rep.GROPackets || rep.Missing+rep.Extra+rep.Mismatched != 0 {
			t.Fatalf("%s: %+v", in, rep)
		}
		// The input's frames, read by the independent decoder.
		frames, payload := gopacketFrames(t, in)
		if rep.GROMerged*2 < payload {
			t.Errorf("%s: GRO merged %d frames of %d with a payload", in, rep.GROMerged, payload)
		}
		// --keep: a coalesced file that segments back into the input.
		kept := filepath.Join(dir, strings.TrimSuffix(filepath.Base(in), filepath.Ext(in))+".gro.pcapng")
		back := filepath.Join(dir, "back.pcap")
		restore(t, kept, back)
		got, _ := gopacketFrames(t, back)
		if len(got) != len(frames) {
			t.Fatalf("%s: --keep segments into %d frames of %d", in, len(got), len(frames))
		}
		for i := range got {
			if !bytes.Equal(got[i], frames[i]) {
				t.Fatalf("%s: frame %d of the kept GRO output differs from the input", in, i+1)
			}
		}
	}
}

// TestVerifyGROLossy: segments with DF set and one IP ID: GRO merges them
// (SKB_GSO_TCP_FIXEDID), but the virtio header cannot say so, and the
// segmentation gives each its own ID: lossy, at the IPv4 ID.
func TestVerifyGROLossy(t *testing.T) {
	testenv.RequireRoot(t)
	path := fixedIDFixture(t)
	open := fileOpener(path)
	// 10 ms for the eight frames to meet in one poll even on a busy
	// machine; were they cut anyway, every merged part is lossy alike.
	rep, err := VerifyGRO(context.Background(), path, open, GROOptions{Coalesce: coalesce.DefaultOptions(), Pacing: replay.Pacing{Topspeed: true}, FlushTimeout: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Verdict != GROLossy || rep.Lossy < 1 || rep.Lossless != 0 || len(rep.Details) == 0 || !strings.Contains(rep.Details[0], "IPv4 ID") || rep.RefusedBecause["ip_id"] != 7 {
		t.Fatalf("%+v", rep)
	}
}

// kernelInputs are the kernel-traffic fixture, a dumpcap recording and a
// fresh recording of this machine's kernel traffic (required in CI).
func kernelInputs(t *testing.T) []string {
	inputs := []string{"../../testdata/kernel-traffic.pcap", "../../testdata/ng-tls.pcapng"}
	fresh := filepath.Join(t.TempDir(), "fresh.pcap")
	if out, err := exec.Command("bash", "../../testdata/record-kernel-traffic.sh", fresh, "2M", "50").CombinedOutput(); err == nil {
		inputs = append(inputs, fresh)
	} else if os.Getenv("CI") == "true" {
		t.Fatalf("recording fresh kernel traffic: %v\n%s", err, out)
	} else {
		t.Logf("no fresh recording (%v): checking the fixtures only", err)
	}
	return inputs
}

// restore segments a coalesced file into a pcap, as gsoreplay segment does.
func restore(t *testing.T, in, out string) {
	r, err := pcaps.Open(in)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	origin, _ := capfile.ParseOrigin(r.SectionComment())
	w := pcaps.NewWriter(f, pcaps.WriterOptions{Format: pcaps.FormatPcap, Nanosecond: origin.Nanosecond})
	if _, err := capfile.Restore(r, w, nil); err != nil {
		t.Fatal(err)
	}
}

// TestCheckAfterAGap: frames lost on the way leave a gap in their flow;
// what comes after it is matched where it was sent (exact), and only the
// gap is missing. A frame changed on the way is mismatched, and takes no
// frame after it along; a frame that comes after a later one is
// reordered, not missing.
func TestCheckAfterAGap(t *testing.T) {
	pkts := craft.Packets(craft.Flow(craft.TCPBulk(), 3000, nil))
	sent := make([]frameRec, len(pkts))
	for i, p := range pkts {
		sent[i] = frameRec{data: p.Data, ts: p.Timestamp}
	}
	for _, c := range []struct {
		name                string
		lost                [2]int // sent[lost[0]:lost[1]] never arrive
		changed             int    // this frame arrives with a byte flipped (-1 none)
		missing, mismatched int
		swap                int // frames swap and swap+1 arrive swapped (0 none)
		reordered           int
	}{
		{"no loss", [2]int{0, 0}, -1, 0, 0, 0, 0},
		{"a gap of 15", [2]int{10, 25}, -1, 15, 0, 0, 0},
		{"a gap of 2000", [2]int{500, 2500}, -1, 2000, 0, 0, 0},
		{"the tail", [2]int{2990, 3000}, -1, 10, 0, 0, 0},
		{"a gap and a change", [2]int{10, 25}, 40, 15, 1, 0, 0},
		{"two swapped", [2]int{0, 0}, -1, 0, 0, 100, 1},
		{"a gap and two swapped", [2]int{10, 25}, -1, 15, 0, 100, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			var got [][]byte
			for i, s := range sent {
				if i >= c.lost[0] && i < c.lost[1] {
					continue
				}
				f := s.data
				if i == c.changed {
					f = bytes.Clone(f)
					f[len(f)-1] ^= 0xff
				}
				got = append(got, f)
			}
			if c.swap > 0 {
				j := c.swap - min(c.swap, c.lost[1]-c.lost[0]) // its place in got
				got[j], got[j+1] = got[j+1], got[j]
			}
			var r GROReport
			r.check(sent, got, make([]gso.VnetHeader, len(got)), nil)
			if r.Missing != c.missing || r.Mismatched != c.mismatched || r.Extra != 0 || r.Reordered != c.reordered {
				t.Errorf("missing %d, mismatched %d, extra %d, reordered %d; want %d, %d, 0, %d", r.Missing, r.Mismatched, r.Extra, r.Reordered, c.missing, c.mismatched, c.reordered)
			}
		})
	}
}

// fixedIDFixture writes eight full-size segments of one flow with DF set
// and one IPv4 ID, 777: what GRO merges as SKB_GSO_TCP_FIXEDID.
func fixedIDFixture(t *testing.T) string {
	t.Helper()
	base := craft.TCPBulk()
	base.DF = true
	path := filepath.Join(t.TempDir(), "fixed-id.pcap")
	if err := craft.WriteFile(path, craft.Packets(craft.Flow(base, 8, func(_ int, p *craft.Frame) { p.ID = 777 }))); err != nil {
		t.Fatal(err)
	}
	return path
}
