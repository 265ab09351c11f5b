package spaces

import (
	"encoding/json"
	"testing"
)

// Every on-disk decoder must reject garbage with an error, never panic, and accept what the
// matching encoder produced.

func FuzzDecodeDiskHeader(f *testing.F) {
	h, err := layoutDisk(64<<20, testSlab, testRegion, testMeta)
	if err != nil {
		f.Fatal(err)
	}
	h.PoolID[0], h.DiskID[0] = 1, 2
	f.Add(h.encode())
	f.Add(make([]byte, BlockSize))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := decodeDiskHeader(b)
		if err != nil {
			return
		}
		// A header that decodes must re-encode to the same prefix and describe a sane layout.
		if again, err := decodeDiskHeader(got.encode()); err != nil || *again != *got {
			t.Fatalf("re-decode: %v", err)
		}
		if got.DataOffset+got.Extents*got.ExtentSize > got.DeviceSize {
			t.Fatalf("layout beyond device: %+v", got)
		}
	})
}

func FuzzDecodeMetaSlot(f *testing.F) {
	m := &poolMeta{PoolID: "p", Generation: 3, Owner: OwnerToken{NodeID: "n", Epoch: 2}, SlabSize: testSlab, RegionSize: testRegion,
		Disks:    []diskRecord{{ID: "a", State: DiskActive, Extents: 4}, {ID: "b", State: DiskFailed, Extents: 4}},
		PrevLive: []string{"a", "b"}, Repair: &repairRecord{Running: true, BytesDone: 1, BytesTotal: 2, SlabsTotal: 1},
		VDisks: []*vdiskRecord{{Name: "v", Size: testSlab, Copies: 2, Slabs: [][][2]int64{{{0, 1}, {1, 1}}}}}}
	body, _ := json.Marshal(m)
	f.Add(encodeMetaSlot(3, 2, body))
	f.Add(encodeMetaSlot(1, 0, []byte("{}")))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, meta, err := decodeMetaSlot(b)
		if err != nil {
			return
		}
		if meta.Generation != h.Generation || meta.validate() != nil {
			t.Fatalf("accepted inconsistent metadata %+v", meta)
		}
		body, err := json.Marshal(meta)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := decodeMetaSlot(encodeMetaSlot(meta.Generation, meta.Owner.Epoch, body)); err != nil {
			t.Fatalf("re-encode rejected: %v", err)
		}
	})
}

func FuzzDecodeDRLBlock(f *testing.F) {
	bits := make([]byte, BlockSize-drlHeaderSize)
	bits[3] = 0x81
	f.Add(encodeDRLBlock(7, bits), uint32(7))
	f.Add(make([]byte, BlockSize), uint32(0))
	f.Fuzz(func(t *testing.T, b []byte, index uint32) {
		got, err := decodeDRLBlock(b, index)
		if err != nil {
			return
		}
		if len(got) != BlockSize-drlHeaderSize {
			t.Fatalf("bitmap of %d bytes", len(got))
		}
		if again, err := decodeDRLBlock(encodeDRLBlock(index, got), index); err != nil || string(again) != string(got) {
			t.Fatalf("round trip: %v", err)
		}
	})
}

func FuzzDecodeChecksumBlock(f *testing.F) {
	b := make([]byte, BlockSize)
	encodeChecksumBlock([]uint32{1, 2, 3}, b)
	f.Add(b, 3)
	f.Fuzz(func(t *testing.T, b []byte, n int) {
		if n < 0 || n > sumsPerBlock {
			return
		}
		sums := make([]uint32, n)
		if err := decodeChecksumBlock(b, sums); err != nil {
			return
		}
		out := make([]byte, BlockSize)
		encodeChecksumBlock(sums, out)
		again := make([]uint32, n)
		if err := decodeChecksumBlock(out, again); err != nil || !equalSums(sums, again) {
			t.Fatalf("round trip: %v", err)
		}
	})
}
