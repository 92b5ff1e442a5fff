package coalesce

import (
	"encoding/binary"
	"fmt"

	"github.com/gopacket/gopacket/layers"
)

// TCPView describes a TCP frame whatever its IP length fields say, as
// captures from TSO/GRO hosts hold them (IPv4 total length 0, 64 KB frames,
// partial checksums).
type TCPView struct {
	Flow    FlowID
	L3, L4  int
	HdrEnd  int // end of the TCP header
	V6      bool
	Flags   uint8
	MSS     int // MSS option of a SYN, 0 if none
	Payload int
}

// ViewTCP reads the headers of a TCP frame without trusting its lengths.
func ViewTCP(frame []byte, lt layers.LinkType, iface int) (TCPView, bool) {
	var v TCPView
	l3, etype, r := networkOffset(frame, lt)
	if r != ReasonNone {
		return v, false
	}
	ip := frame[l3:]
	key := flowKey{iface: int32(iface), proto: protoTCP}
	var l4 int
	if etype == etherTypeIPv4 {
		if len(ip) < 20 || ip[0]>>4 != 4 || ip[9] != protoTCP || ip[6]&0x3f != 0 || ip[7] != 0 {
			return v, false
		}
		l4 = l3 + int(ip[0]&0x0f)*4
		key.set4(ip)
	} else {
		if len(ip) < 40 || ip[0]>>4 != 6 {
			return v, false
		}
		off, proto, r := locate6(ip)
		if r != ReasonNone || proto != protoTCP {
			return v, false
		}
		l4 = l3 + off
		key.set6(ip)
		v.V6 = true
	}
	if l4+20 > len(frame) {
		return v, false
	}
	th := frame[l4:]
	doff := int(th[12]>>4) * 4
	if doff < 20 || l4+doff > len(frame) {
		return v, false
	}
	key.ports = binary.BigEndian.Uint32(th[0:4])
	v.Flow, v.L3, v.L4, v.HdrEnd, v.Flags = key, l3, l4, l4+doff, th[13]
	v.Payload = len(frame) - v.HdrEnd
	if v.Flags&tcpSYN != 0 {
		for opts := th[20:doff]; len(opts) > 0; {
			switch opts[0] {
			case 0:
				opts = nil
			case 1:
				opts = opts[1:]
			default:
				if len(opts) < 2 || int(opts[1]) < 2 || int(opts[1]) > len(opts) {
					opts = nil
					break
				}
				if opts[0] == 2 && opts[1] == 4 {
					v.MSS = int(binary.BigEndian.Uint16(opts[2:4]))
				}
				opts = opts[opts[1]:]
			}
		}
	}
	return v, true
}

// BuildSuper turns a TCP super-frame captured whole on a TSO/GRO host into
// what AF_PACKET needs to segment it with gso_size: IP lengths of the whole
// (0 above 65535), IPv4 header checksum, the pseudo-header checksum seed,
// and the virtio header. It works in place and returns the header and the
// number of segments the kernel will make.
func BuildSuper(frame []byte, v TCPView, gsoSize int) (VnetHeader, int, error) {
	if gsoSize < minTCPGSOSize || gsoSize > 0xfffe {
		return VnetHeader{}, 0, fmt.Errorf("gso_size %d out of range", gsoSize)
	}
	if v.Payload <= gsoSize {
		return VnetHeader{}, 0, fmt.Errorf("payload %d fits one segment of %d", v.Payload, gsoSize)
	}
	ip := frame[v.L3:v.L4]
	if v.V6 {
		binary.BigEndian.PutUint16(ip[4:6], uint16(lenOrZero(len(frame)-v.L3-40)))
	} else {
		binary.BigEndian.PutUint16(ip[2:4], uint16(lenOrZero(len(frame)-v.L3)))
		binary.BigEndian.PutUint16(ip[10:12], ipv4HeaderChecksum(ip))
	}
	th := frame[v.L4:]
	binary.BigEndian.PutUint16(th[16:18], fold(pseudoSum(ip, v.V6, protoTCP, uint32(len(th)))))
	h := VnetHeader{Flags: VnetNeedsCsum, GSOType: GSOTCPv4, GSOSize: uint16(gsoSize), HdrLen: uint16(v.HdrEnd),
		CsumStart: uint16(v.L4), CsumOffset: 16}
	if v.V6 {
		h.GSOType = GSOTCPv6
	}
	return h, (v.Payload + gsoSize - 1) / gsoSize, nil
}
