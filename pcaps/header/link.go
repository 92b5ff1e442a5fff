package header

import (
	"encoding/binary"

	"github.com/gopacket/gopacket/layers"
)

// EtherType names the protocol that follows a link-layer header.
type EtherType uint16

// EtherTypes gsoreplay knows.
const (
	EtherTypeIPv4   EtherType = 0x0800
	EtherTypeIPv6   EtherType = 0x86DD
	EtherType8021Q  EtherType = 0x8100
	EtherType8021AD EtherType = 0x88A8
	EtherTypeQinQ   EtherType = 0x9100 // the pre-standard QinQ TPID
	EtherTypeMPLS   EtherType = 0x8847
	// EtherTypeMPLSMulticast is MPLS with a multicast label.
	EtherTypeMPLSMulticast EtherType = 0x8848
)

// IsVLAN reports whether t is the TPID of a VLAN tag.
func (t EtherType) IsVLAN() bool {
	return t == EtherType8021Q || t == EtherType8021AD || t == EtherTypeQinQ
}

// EtherTypeOfIP is the EtherType of an IP packet from its version nibble,
// 0 when it is neither IPv4 nor IPv6.
func EtherTypeOfIP(first byte) EtherType {
	switch first >> 4 {
	case 4:
		return EtherTypeIPv4
	case 6:
		return EtherTypeIPv6
	}
	return 0
}

// Link-layer header sizes.
const (
	EthernetSize = 14
	VLANTagSize  = 4
	SLLSize      = 16 // Linux cooked capture v1
	SLL2Size     = 20 // Linux cooked capture v2
	NullSize     = 4  // BSD loopback: the address family
)

// Link types that BSDs write for raw IP.
const (
	LinkTypeRawBSD     layers.LinkType = 12
	LinkTypeRawOpenBSD layers.LinkType = 14
)

// Ethernet is an Ethernet II header, possibly followed by VLAN tags.
type Ethernet []byte

// IsValid reports whether b holds the 14-byte header.
func (b Ethernet) IsValid() bool { return len(b) >= EthernetSize }

// Destination is the destination MAC address.
func (b Ethernet) Destination() []byte { return b[0:6] }

// Source is the source MAC address.
func (b Ethernet) Source() []byte { return b[6:12] }

// Type is the outer EtherType (a TPID when the frame is tagged).
func (b Ethernet) Type() EtherType { return EtherType(binary.BigEndian.Uint16(b[12:14])) }

// Tags steps over the VLAN tags after the addresses, as
// skb_network_protocol does, calling visit (if not nil) with each, outermost
// first. It returns the offset of the header after the tags, the EtherType
// that announces it, and false when the frame ends inside a tag. b must be
// valid.
func (b Ethernet) Tags(visit func(VLANTag)) (off int, t EtherType, ok bool) {
	off, t = EthernetSize, b.Type()
	for t.IsVLAN() {
		if len(b) < off+VLANTagSize {
			return off, t, false
		}
		tag := VLANTag(b[off-2:])
		if visit != nil {
			visit(tag)
		}
		t = tag.Inner()
		off += VLANTagSize
	}
	return off, t, true
}

// VLANTag is one 802.1Q tag seen from its TPID: the TPID, the tag control
// information, then the EtherType the tag announces.
type VLANTag []byte

// TPID is the tag's EtherType (0x8100, 0x88a8, 0x9100).
func (t VLANTag) TPID() EtherType { return EtherType(binary.BigEndian.Uint16(t[0:2])) }

// TCI is the priority, DEI and VLAN ID.
func (t VLANTag) TCI() uint16 { return binary.BigEndian.Uint16(t[2:4]) }

// Inner is the EtherType the tag announces.
func (t VLANTag) Inner() EtherType { return EtherType(binary.BigEndian.Uint16(t[4:6])) }

// LinkStatus says why a link-layer header could not be read.
type LinkStatus uint8

const (
	LinkOK          LinkStatus = iota
	LinkTruncated              // the frame ends inside the link-layer header or a tag
	LinkUnsupported            // a link type this package does not read
	LinkNotIP                  // the payload is neither IPv4 nor IPv6
)

// Link reads the link-layer header of a frame of link type lt: its length
// and the EtherType of what follows it, without stepping over VLAN tags.
// For raw IP and BSD loopback the EtherType comes from the IP version
// nibble (0 when it is neither 4 nor 6).
func Link(frame []byte, lt layers.LinkType) (size int, t EtherType, st LinkStatus) {
	switch lt {
	case layers.LinkTypeEthernet:
		if !Ethernet(frame).IsValid() {
			return 0, 0, LinkTruncated
		}
		return EthernetSize, Ethernet(frame).Type(), LinkOK
	case layers.LinkTypeLinuxSLL:
		if len(frame) < SLLSize {
			return 0, 0, LinkTruncated
		}
		return SLLSize, EtherType(binary.BigEndian.Uint16(frame[14:16])), LinkOK
	case layers.LinkTypeLinuxSLL2:
		if len(frame) < SLL2Size {
			return 0, 0, LinkTruncated
		}
		return SLL2Size, EtherType(binary.BigEndian.Uint16(frame[0:2])), LinkOK
	case layers.LinkTypeNull, layers.LinkTypeLoop:
		if len(frame) < NullSize+1 {
			return 0, 0, LinkTruncated
		}
		return NullSize, EtherTypeOfIP(frame[NullSize]), LinkOK
	case layers.LinkTypeRaw, layers.LinkTypeIPv4, layers.LinkTypeIPv6, LinkTypeRawBSD, LinkTypeRawOpenBSD:
		if len(frame) < 1 {
			return 0, 0, LinkTruncated
		}
		return 0, EtherTypeOfIP(frame[0]), LinkOK
	}
	return 0, 0, LinkUnsupported
}

// Network finds the IPv4 or IPv6 header of a frame, stepping over VLAN tags
// on Ethernet as skb_network_protocol does. It reads Ethernet, Linux cooked
// SLL/SLL2 and raw IP, the link types gsoreplay coalesces; BSD loopback is
// LinkUnsupported here (Link reads it, for replay's synthetic Ethernet).
func Network(frame []byte, lt layers.LinkType) (off int, t EtherType, st LinkStatus) {
	if lt == layers.LinkTypeNull || lt == layers.LinkTypeLoop {
		return 0, 0, LinkUnsupported
	}
	off, t, st = Link(frame, lt)
	if st != LinkOK {
		return 0, 0, st
	}
	if lt == layers.LinkTypeEthernet {
		var ok bool
		if off, t, ok = Ethernet(frame).Tags(nil); !ok {
			return 0, 0, LinkTruncated
		}
	}
	if t != EtherTypeIPv4 && t != EtherTypeIPv6 {
		return 0, 0, LinkNotIP
	}
	return off, t, LinkOK
}

// String words the status as coalesce's refusal reasons do.
func (s LinkStatus) String() string {
	switch s {
	case LinkOK:
		return "none"
	case LinkTruncated:
		return "malformed headers"
	case LinkUnsupported:
		return "link type not supported"
	}
	return "not IPv4/IPv6"
}
