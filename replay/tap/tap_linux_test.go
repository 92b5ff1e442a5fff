package tap_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/gsoreplay/gsoreplay/coalesce"
	"github.com/gsoreplay/gsoreplay/internal/testenv"
	"github.com/gsoreplay/gsoreplay/pcaps"
	"github.com/gsoreplay/gsoreplay/pcaps/craft"
	"github.com/gsoreplay/gsoreplay/replay/capture"
	"github.com/gsoreplay/gsoreplay/replay/lab"
	"github.com/gsoreplay/gsoreplay/replay/tap"
)

// TestTunnelThroughTap: crafted VXLAN and GENEVE flows (the oracle),
// coalesced with tunnel GSO, written to a tap with the 24-byte header and
// redirected to a veth that segments in software, come out of the veth
// frame for frame and byte for byte as crafted: outer and inner IPv4 IDs,
// lengths and checksums, the outer UDP checksum where there is one.
func TestTunnelThroughTap(t *testing.T) {
	testenv.RequireRoot(t)
	l, err := lab.New()
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	base := craft.TCPBulk()
	base.Payload = craft.Payload(1398, 0)
	base.Tunnel = craft.VXLANTunnel()
	flows := map[string]craft.Frame{"vxlan v4/tcpv4": base}
	f := base
	f.Tunnel.ZeroCsum = false
	flows["vxlan v4/tcpv4 csum"] = f
	f = base
	f.V6, f.Payload = true, craft.Payload(1378, 0)
	flows["vxlan v4/tcpv6"] = f
	f = base
	f.Tunnel.V6, f.Payload = true, craft.Payload(1378, 0)
	flows["vxlan v6/tcpv4"] = f
	f.Tunnel.ZeroCsum = false
	flows["vxlan v6/tcpv4 csum"] = f
	f = base
	f.Tunnel.Kind, f.Tunnel.Options, f.Payload = craft.Geneve, []byte{1, 2, 0x80, 1, 0xde, 0xad, 0xbe, 0xef}, craft.Payload(1390, 0)
	flows["geneve v4/tcpv4"] = f
	f = craft.UDPBulk()
	f.Tunnel = craft.VXLANTunnel()
	flows["vxlan v4/udp"] = f
	f.Tunnel.ZeroCsum, f.V6 = false, true
	flows["vxlan v4/udpv6 csum"] = f
	opts := coalesce.DefaultOptions()
	opts.TunnelGSO = true
	var tp *tap.Tap
	err = l.Do(l.A, func() (err error) {
		if tp, err = tap.Open("gsr-tap", true); err != nil {
			return err
		}
		return tp.Redirect(l.IfA)
	})
	if errors.Is(err, tap.ErrNoTunnelGSO) {
		testenv.Missing(t, err.Error())
	}
	if err != nil {
		t.Fatal(err)
	}
	defer tp.Close()
	{
		for name, base := range flows {
			t.Run(name, func(t *testing.T) {
				want := craft.Packets(craft.Flow(base, 6, nil))
				var c *capture.Capture
				err := l.Do(l.A, func() (err error) {
					c, err = capture.New(l.IfA, capture.Options{Outgoing: true})
					return err
				})
				if err != nil {
					t.Fatal(err)
				}
				supers := 0
				hdr := make([]byte, tp.HeaderLen)
				co := coalesce.New(opts, func(r *coalesce.Record) error {
					if r.Meta.Segs > 1 {
						supers++
					}
					r.Meta.Vnet.EncodeTunnel(hdr)
					return tp.Write(hdr, r.Packet.Data)
				})
				for i := range want {
					if err := co.Push(&want[i]); err != nil {
						t.Fatal(err)
					}
				}
				if err := co.Close(); err != nil {
					t.Fatalf("write: %v", err)
				}
				got := waitFrames(c, len(want))
				if supers != 1 {
					t.Errorf("%d super-packets, want 1", supers)
				}
				compare(t, got, want)
			})
		}
	}
}

func waitFrames(c *capture.Capture, n int) [][]byte {
	for end := time.Now().Add(2 * time.Second); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		if got, _ := c.Count(); got >= n {
			break
		}
	}
	time.Sleep(20 * time.Millisecond) // anything extra
	frames, _ := c.Stop()
	return frames
}

func compare(t *testing.T, got [][]byte, want []pcaps.Packet) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d frames came out, want %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i].Data) {
			at := 0
			for at < min(len(got[i]), len(want[i].Data)) && got[i][at] == want[i].Data[at] {
				at++
			}
			t.Errorf("frame %d (%d bytes, want %d) differs at byte %d", i, len(got[i]), len(want[i].Data), at)
		}
	}
}
