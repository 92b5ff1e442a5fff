package capfile_test

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/pcapgo"

	"github.com/gsoreplay/gsoreplay/coalesce"
	"github.com/gsoreplay/gsoreplay/coalesce/capfile"
	"github.com/gsoreplay/gsoreplay/internal/testcap"
	"github.com/gsoreplay/gsoreplay/pcaps"
	"github.com/gsoreplay/gsoreplay/pcaps/craft"
)

// ng builds pcapng blocks byte by byte in one byte order: the test's own
// writer, independent of the code under test.
type ng struct {
	o interface {
		binary.ByteOrder
		binary.AppendByteOrder
	}
	out []byte
}

func (g *ng) block(typ uint32, body []byte) {
	n := 12 + len(body)
	g.out = g.o.AppendUint32(g.out, typ)
	g.out = g.o.AppendUint32(g.out, uint32(n))
	g.out = append(g.out, body...)
	g.out = g.o.AppendUint32(g.out, uint32(n))
}

func (g *ng) opt(dst []byte, code uint16, v []byte) []byte {
	dst = g.o.AppendUint16(dst, code)
	dst = g.o.AppendUint16(dst, uint16(len(v)))
	dst = append(dst, v...)
	for len(dst)%4 != 0 {
		dst = append(dst, 0)
	}
	return dst
}

func (g *ng) end(dst []byte) []byte { return append(dst, 0, 0, 0, 0) }

func (g *ng) section(seclen int64, opts []byte) {
	b := g.o.AppendUint32(nil, 0x1A2B3C4D)
	b = g.o.AppendUint16(b, 1)
	b = g.o.AppendUint16(b, 0)
	b = g.o.AppendUint64(b, uint64(seclen))
	g.block(0x0A0D0D0A, append(b, opts...))
}

func (g *ng) iface(lt uint16, snap uint32, opts []byte) {
	b := g.o.AppendUint16(nil, lt)
	b = g.o.AppendUint16(b, 0)
	b = g.o.AppendUint32(b, snap)
	g.block(1, append(b, opts...))
}

// epb: pad is the padding's byte (0 as written normally).
func (g *ng) epb(iface uint32, ts uint64, data []byte, orig uint32, pad byte, opts []byte) {
	b := g.o.AppendUint32(nil, iface)
	b = g.o.AppendUint32(b, uint32(ts>>32))
	b = g.o.AppendUint32(b, uint32(ts))
	b = g.o.AppendUint32(b, uint32(len(data)))
	b = g.o.AppendUint32(b, orig)
	b = append(b, data...)
	for len(b)%4 != 0 {
		b = append(b, pad)
	}
	g.block(6, append(b, opts...))
}

// oddPcapng holds every block type and oddity the round trip must keep:
// a big-endian section with its length given, 2^-20 s and picosecond
// interfaces, a flow of mergeable segments with identical flags, queue and
// verdict and no opt_endofopt, some with their own packet id, hash and drop
// count, a picosecond timestamp, padding that is not zero, a frame
// captured beyond its original length, a Simple and an obsolete Packet
// Block, name resolution, statistics, secrets, custom blocks of both kinds
// and an unknown type; then a little-endian section.
// segs segments of payload bytes make the flow.
func oddPcapng(t testing.TB, segs, payload int) (file []byte, noCopy int) {
	t.Helper()
	base := craft.TCPBulk()
	base.Payload = craft.Payload(payload, 0)
	flow := craft.Packets(craft.Flow(base, segs, nil))
	be := &ng{o: binary.BigEndian}
	var shbOpts []byte
	shbOpts = be.opt(shbOpts, 1, []byte("hand-built, big-endian"))
	shbOpts = be.opt(shbOpts, 4, []byte("gsoreplay test"))
	body := be.end(shbOpts)
	// The section length is filled in below, once the section is built.
	be.section(0, body)
	be.iface(1, 0, be.end(be.opt(be.opt(nil, 2, []byte("eth-2^-20")), 9, []byte{0x80 | 20})))
	be.iface(1, 262144, be.end(be.opt(nil, 9, []byte{12})))
	// The flow's segments share epb_flags (inbound), epb_queue and
	// epb_verdict, with no opt_endofopt; every third has its own
	// epb_packetid, epb_hash and epb_dropcount, which end a run.
	shared := be.opt(nil, 2, []byte{0, 0, 0, 1})
	shared = be.opt(shared, 6, be.o.AppendUint32(nil, 3))                       // epb_queue
	shared = be.opt(shared, 7, append([]byte{2}, be.o.AppendUint64(nil, 1)...)) // epb_verdict, eBPF TC
	for i, p := range flow {
		ts := uint64(1_700_000_000)<<20 + uint64(i)*11
		opts := shared
		if i%3 == 2 {
			opts = be.opt(append([]byte(nil), shared...), 5, be.o.AppendUint64(nil, uint64(1000+i))) // epb_packetid
			opts = be.opt(opts, 3, append([]byte{2}, be.o.AppendUint32(nil, uint32(0xC0FFEE+i))...)) // epb_hash, CRC32
			opts = be.end(be.opt(opts, 4, be.o.AppendUint64(nil, uint64(i))))                        // epb_dropcount
		}
		be.epb(0, ts, p.Data, uint32(len(p.Data)), 0, opts)
	}
	be.epb(1, 123_456_789_012_345, flow[0].Data, uint32(len(flow[0].Data)), 0, nil) // picoseconds
	odd := append([]byte(nil), flow[1].Data[:61]...)
	be.epb(0, 5<<20, odd, 61, 0xEE, nil)                                                   // padding not zero
	be.epb(0, 6<<20, flow[2].Data, 40, 0, be.end(be.opt(nil, 1, []byte("over"))))          // captured > original
	be.block(3, append(be.o.AppendUint32(nil, uint32(len(odd))), append(odd, 0, 0, 0)...)) // SPB
	pb := be.o.AppendUint16(nil, 0)
	pb = be.o.AppendUint16(pb, 7) // drops
	pb = be.o.AppendUint32(pb, 0)
	pb = be.o.AppendUint32(pb, 9)
	pb = be.o.AppendUint32(pb, 61)
	pb = be.o.AppendUint32(pb, 61)
	be.block(2, append(append(pb, odd...), 0, 0, 0))
	nrb := be.o.AppendUint16(nil, 1)
	nrb = be.o.AppendUint16(nrb, 15)
	nrb = append(nrb, 10, 0, 0, 1, 'h', 'o', 's', 't', '.', 't', 'e', 's', 't', 0, 0, 0)
	be.block(4, append(nrb, 0, 0, 0, 0))
	isb := be.o.AppendUint32(nil, 0)
	isb = be.o.AppendUint64(isb, 99)
	be.block(5, be.end(be.opt(isb, 4, be.o.AppendUint64(nil, 1234)))) // isb_ifrecv
	keys := []byte("CLIENT_RANDOM 00 11\n")
	dsb := be.o.AppendUint32(nil, 0x544c534b) // TLS key log
	dsb = be.o.AppendUint32(dsb, uint32(len(keys)))
	be.block(10, append(dsb, keys...))
	be.block(0x00000BAD, append(be.o.AppendUint32(nil, 32473), []byte("copy")...))
	be.block(0x40000BAD, append(be.o.AppendUint32(nil, 32473), []byte("skip")...))
	be.block(0x80000001, []byte("localtyp"))
	be.o.PutUint64(be.out[16:24], uint64(len(be.out)-len(body)-28))

	le := &ng{o: binary.LittleEndian}
	le.section(-1, nil)
	le.iface(1, 0, nil)
	for i, p := range flow[:min(5, len(flow))] {
		le.epb(0, uint64(1_700_000_000_000_000+i*10), p.Data, uint32(len(p.Data)), 0, nil)
	}
	le.block(0x40000BAD, append(le.o.AppendUint32(nil, 32473), []byte("skip")...))
	return append(be.out, le.out...), 2
}

func roundTrip(t testing.TB, data []byte, order coalesce.Order) (mid, back []byte, st *coalesce.Stats, err error) {
	r, err := pcaps.NewReader(bytes.NewReader(data), "in.pcapng")
	if err != nil {
		return nil, nil, nil, err
	}
	var m bytes.Buffer
	w := pcaps.NewWriter(&m, pcaps.WriterOptions{Format: pcaps.FormatPcapNG, Comment: capfile.OriginOf(r).String()})
	opts := coalesce.DefaultOptions()
	opts.Order = order
	if st, err = capfile.Coalesce(r, w, opts, nil); err != nil {
		return nil, nil, st, err
	}
	cr, err := pcaps.NewReader(bytes.NewReader(m.Bytes()), "coalesced")
	if err != nil {
		t.Fatalf("the coalesced file does not open: %v", err)
	}
	var b bytes.Buffer
	if _, err := capfile.Restore(cr, pcaps.NewWriter(&b, pcaps.WriterOptions{Format: pcaps.FormatPcapNG}), nil); err != nil {
		t.Fatalf("segment: %v", err)
	}
	return m.Bytes(), b.Bytes(), st, nil
}

// TestOddPcapngRoundTrip: every block and oddity comes back as written; the
// segments merged keep their flags; what cannot merge says why.
func TestOddPcapngRoundTrip(t *testing.T) {
	data, noCopy := oddPcapng(t, 12, 1448)
	if _, err := pcapgo.NewNgReader(bytes.NewReader(data), pcapgo.NgReaderOptions{}); err != nil {
		t.Fatalf("pcapgo does not read the hand-built file: %v", err)
	}
	for _, order := range []coalesce.Order{coalesce.PerFlow, coalesce.Strict} {
		mid, back, st, err := roundTrip(t, data, order)
		if err != nil {
			t.Fatal(err)
		}
		if want, _ := testcap.WithoutBlocks(data, 0x40000BAD); !bytes.Equal(back, want) {
			t.Fatalf("%s: %d bytes back, want %d", order, len(back), len(want))
		}
		if st.NoCopyDropped != int64(noCopy) || st.SuperPackets == 0 {
			t.Fatalf("%s: %d do-not-copy dropped, %d super-packets", order, st.NoCopyDropped, st.SuperPackets)
		}
		for _, r := range []coalesce.Reason{coalesce.ReasonKeptBlock, coalesce.ReasonOverWire} {
			if st.Refused[r] == 0 {
				t.Errorf("%s: nothing refused as %q", order, r)
			}
		}
		if st.Flushes[coalesce.ReasonPacketOpts] < 3 {
			t.Errorf("%s: %d runs ended on different packet options, want 3 or more", order, st.Flushes[coalesce.ReasonPacketOpts])
		}
		// The coalesced file is a pcapng pcapgo reads, the super-packets
		// with the flags of their segments.
		cr, err := pcapgo.NewNgReader(bytes.NewReader(mid), pcapgo.NgReaderOptions{})
		if err != nil {
			t.Fatal(err)
		}
		// The big-endian section's flow carries flags, the other's none.
		flagged, plain := 0, 0
		for {
			_, _, opts, err := cr.ReadPacketDataWithOptions()
			if err != nil {
				break
			}
			if len(opts.Comments) > 0 && strings.HasPrefix(opts.Comments[0], coalesce.CommentPrefix) {
				// (pcapgo decodes a big-endian epb_flags as little-endian,
				// so only its presence is asked here; the bytes are checked
				// by the round trip.)
				if opts.Flags == nil {
					plain++
				} else {
					flagged++
				}
			}
		}
		if flagged == 0 || plain == 0 {
			t.Fatalf("%s: pcapgo sees %d super-packets with flags, %d without", order, flagged, plain)
		}
	}
}

// TestOptionsDecideMerges: segments with different options are not merged
// (counted), and identical comments are kept once and given back to each.
func TestOptionsDecideMerges(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "ng-names.pcapng"))
	if err != nil {
		t.Fatal(err)
	}
	mid, back, st, err := roundTrip(t, data, coalesce.PerFlow)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(back, data) {
		t.Fatal("not the file back")
	}
	if st.Flushes[coalesce.ReasonPacketOpts] == 0 {
		t.Fatal("no run ended on different options")
	}
	// pcapgo, reading the coalesced file: a super-packet carries the
	// segments' own comment after its virtio header.
	cr, err := pcapgo.NewNgReader(bytes.NewReader(mid), pcapgo.NgReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for {
		_, _, opts, err := cr.ReadPacketDataWithOptions()
		if err != nil {
			break
		}
		c := opts.Comments
		if len(c) == 2 && strings.HasPrefix(c[0], coalesce.CommentPrefix) && c[1] == "one comment for a run of segments" {
			found = true
		}
	}
	if !found {
		t.Fatal("no super-packet kept the comment its segments share")
	}
}

// FuzzPcapngRoundTrip: whatever pcapng the reader and coalescer take comes
// back byte for byte but for do-not-copy custom blocks.
func FuzzPcapngRoundTrip(f *testing.F) {
	// Small seeds: the fuzzer minimizes what it finds, at a cost that
	// grows with the input.
	data, _ := oddPcapng(f, 4, 64)
	f.Add(data)
	f.Fuzz(func(t *testing.T, data []byte) {
		_, back, _, err := roundTrip(t, data, coalesce.PerFlow)
		if err != nil {
			return // refused with an error: fine
		}
		if want, _ := testcap.WithoutBlocks(data, 0x40000BAD); !bytes.Equal(back, want) {
			t.Fatalf("%d bytes back, want %d", len(back), len(want))
		}
	})
}
