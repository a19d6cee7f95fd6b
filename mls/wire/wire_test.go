package wire

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"
)

// testStruct exercises every codec feature: struct { uint16 a; opaque b<V>;
// optional<uint32> c; uint64 list<V>; }.
type testStruct struct {
	A    uint16
	B    []byte
	HasC bool
	C    uint32
	List []uint64
}

func (t *testStruct) MarshalMLS(b *Builder) {
	b.AddUint16(t.A)
	b.AddVector(t.B)
	b.AddOptional(t.HasC, func(b *Builder) { b.AddUint32(t.C) })
	b.AddVectorFunc(func(b *Builder) {
		for _, v := range t.List {
			b.AddUint64(v)
		}
	})
}

func (t *testStruct) UnmarshalMLS(r *Reader) bool {
	*t = testStruct{}
	return r.ReadUint16(&t.A) &&
		r.ReadVector(&t.B) &&
		r.ReadOptional(&t.HasC, func(r *Reader) bool { return r.ReadUint32(&t.C) }) &&
		r.ReadList(func(r *Reader) bool {
			var v uint64
			if !r.ReadUint64(&v) {
				return false
			}
			t.List = append(t.List, v)
			return true
		})
}

func TestVarintExamples(t *testing.T) {
	// RFC 9420 §2.1.2 examples.
	for _, tc := range []struct {
		enc []byte
		v   uint64
	}{
		{[]byte{0x9d, 0x7f, 0x3e, 0x7d}, 494878333},
		{[]byte{0x7b, 0xbd}, 15293},
		{[]byte{0x25}, 37},
	} {
		var v uint64
		r := NewReader(tc.enc)
		if !r.ReadVarint(&v) || !r.Empty() || v != tc.v {
			t.Errorf("ReadVarint(%x) = %d, want %d", tc.enc, v, tc.v)
		}
		if got := appendVarint(nil, tc.v); !bytes.Equal(got, tc.enc) {
			t.Errorf("appendVarint(%d) = %x, want %x", tc.v, got, tc.enc)
		}
	}
}

func TestVarintRejects(t *testing.T) {
	for _, enc := range [][]byte{
		{0x40, 0x25},             // 37 in two bytes
		{0x80, 0x00, 0x3f, 0xff}, // 16383 in four bytes
		{0xc0, 0, 0, 0, 0, 0, 0, 1},
		{0x40},
		{0x80, 0x01, 0x02},
		{},
	} {
		var v uint64
		if NewReader(enc).ReadVarint(&v) {
			t.Errorf("ReadVarint(%x) accepted", enc)
		}
	}
}

func TestVarintBoundaries(t *testing.T) {
	for _, v := range []uint64{0, 63, 64, 16383, 16384, MaxVarint} {
		enc := appendVarint(nil, v)
		var got uint64
		r := NewReader(enc)
		if !r.ReadVarint(&got) || got != v || !r.Empty() {
			t.Errorf("round trip of %d failed", v)
		}
	}
	b := NewBuilder(nil)
	b.AddVarint(MaxVarint + 1)
	if _, err := b.Bytes(); !errors.Is(err, ErrEncode) {
		t.Errorf("AddVarint(2^30) err = %v", err)
	}
}

func randomStruct(rng *rand.Rand) *testStruct {
	t := &testStruct{A: uint16(rng.Uint32()), HasC: rng.IntN(2) == 1}
	if t.HasC {
		t.C = rng.Uint32()
	}
	t.B = make([]byte, rng.IntN(300))
	for i := range t.B {
		t.B[i] = byte(rng.Uint32())
	}
	for range rng.IntN(20) {
		t.List = append(t.List, rng.Uint64())
	}
	return t
}

func TestRoundTripAndNoStrictPrefix(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		in := randomStruct(rng)
		enc, err := Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		var out testStruct
		if err := Unmarshal(enc, &out); err != nil {
			t.Fatalf("Unmarshal: %v", err)
		}
		re, _ := Marshal(&out)
		if !bytes.Equal(enc, re) {
			t.Fatalf("re-encoding differs")
		}
		for i := range len(enc) {
			var p testStruct
			if err := Unmarshal(enc[:i], &p); err == nil {
				t.Fatalf("strict prefix of length %d/%d decoded", i, len(enc))
			}
		}
		var p testStruct
		err = Unmarshal(append(enc, 0), &p)
		var de *DecodeError
		if !errors.As(err, &de) || de.Type != "testStruct" || de.Reason != "trailing bytes" {
			t.Fatalf("trailing byte: err = %v", err)
		}
	}
}

func TestOptionalPresenceByte(t *testing.T) {
	var present bool
	r := NewReader([]byte{2})
	if r.ReadOptional(&present, func(*Reader) bool { return true }) {
		t.Fatal("presence byte 2 accepted")
	}
}

func TestListElementOverrun(t *testing.T) {
	// A list of 3 bytes holding uint16 elements: the second element overruns.
	r := NewReader([]byte{3, 0, 1, 0})
	ok := r.ReadList(func(r *Reader) bool { var v uint16; return r.ReadUint16(&v) })
	if ok {
		t.Fatal("overrunning list element accepted")
	}
}

func TestReadRaw(t *testing.T) {
	r := NewReader([]byte{1, 2, 3, 4})
	var raw []byte
	var v uint16
	if !r.ReadRaw(&raw, func(r *Reader) bool { return r.ReadUint16(&v) }) {
		t.Fatal("ReadRaw failed")
	}
	if !bytes.Equal(raw, []byte{1, 2}) || r.Len() != 2 {
		t.Fatalf("raw = %x, rest %d", raw, r.Len())
	}
}

func FuzzUnmarshal(f *testing.F) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 8 {
		enc, _ := Marshal(randomStruct(rng))
		f.Add(enc)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var v testStruct
		if Unmarshal(data, &v) != nil {
			return
		}
		enc, err := Marshal(&v)
		if err != nil || !bytes.Equal(enc, data) {
			t.Fatalf("decoded input does not re-encode to itself")
		}
	})
}
