package pcaps

import "unsafe"

// Size is how many bytes a copy of the packet takes (CopyInto): its Block
// when it has one that holds its Data, else its Data and Options.
func (p *Packet) Size() int {
	if p.ownBlock() {
		return len(p.Block)
	}
	return len(p.Data) + len(p.Options)
}

// CopyInto copies the packet's bytes into dst, which must hold Size bytes,
// and points p's Data, Block and Options at the copy: what keeping a packet
// past the next Reader.Next takes. A packet whose Data was copied away from
// its Block (the Block is then stale) keeps Data and Options, not the Block.
func (p *Packet) CopyInto(dst []byte) {
	if !p.ownBlock() {
		n := copy(dst, p.Data)
		m := copy(dst[n:], p.Options)
		p.Data = dst[:n:n]
		if p.Options != nil {
			p.Options = dst[n : n+m : n+m]
		}
		p.Block = nil
		return
	}
	n := copy(dst, p.Block)
	blk := dst[:n:n]
	if p.Data != nil {
		p.Data = blk[offset(p.Block, p.Data):][:len(p.Data):len(p.Data)]
	}
	if p.Options != nil {
		if o := offset(p.Block, p.Options); o >= 0 {
			p.Options = blk[o:][:len(p.Options):len(p.Options)]
		}
	}
	p.Block = blk
}

// ownBlock reports whether Block holds Data (or is a block with no packet).
func (p *Packet) ownBlock() bool {
	return p.Block != nil && (p.Data == nil || offset(p.Block, p.Data) >= 0)
}

// offset is where sub begins in b, or -1 when it does not lie in b.
func offset(b, sub []byte) int {
	if len(sub) == 0 || len(b) == 0 {
		if len(sub) == 0 {
			return 0
		}
		return -1
	}
	off := int(uintptr(unsafe.Pointer(unsafe.SliceData(sub))) - uintptr(unsafe.Pointer(unsafe.SliceData(b))))
	if off < 0 || off+len(sub) > len(b) {
		return -1
	}
	return off
}
