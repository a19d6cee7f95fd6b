package keyschedule

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/mlsengine/engine/mls/suite"
	"github.com/mlsengine/engine/mls/wire"
)

func randomBytes(rng *rand.Rand, max int) []byte {
	b := make([]byte, rng.IntN(max+1))
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

func randomPSKID(rng *rand.Rand) PreSharedKeyID {
	id := PreSharedKeyID{Nonce: randomBytes(rng, 70)}
	if rng.IntN(2) == 0 {
		id.Type = PSKTypeExternal
		id.ID = randomBytes(rng, 100)
	} else {
		id.Type = PSKTypeResumption
		id.Usage = ResumptionPSKUsage(1 + rng.IntN(3))
		id.GroupID = randomBytes(rng, 100)
		id.Epoch = rng.Uint64()
	}
	return id
}

func TestPreSharedKeyIDRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 300 {
		in := randomPSKID(rng)
		enc, err := wire.Marshal(&in)
		if err != nil {
			t.Fatal(err)
		}
		var out PreSharedKeyID
		if err := wire.Unmarshal(enc, &out); err != nil {
			t.Fatalf("Unmarshal(%x): %v", enc, err)
		}
		if !reflect.DeepEqual(norm(in), norm(out)) {
			t.Fatalf("round trip: %+v != %+v", in, out)
		}
		for i := range len(enc) {
			if err := wire.Unmarshal(enc[:i], &out); err == nil {
				t.Fatalf("strict prefix %x of %x decoded", enc[:i], enc)
			}
		}
		if err := wire.Unmarshal(append(enc, 0), &out); !errors.Is(err, wire.ErrDecode) {
			t.Fatalf("trailing byte: err = %v", err)
		}
	}
}

// norm makes empty and nil slices compare equal.
func norm(id PreSharedKeyID) PreSharedKeyID {
	for _, p := range []*[]byte{&id.ID, &id.GroupID, &id.Nonce} {
		if len(*p) == 0 {
			*p = nil
		}
	}
	return id
}

func TestPreSharedKeyIDEncoding(t *testing.T) {
	ext := PreSharedKeyID{Type: PSKTypeExternal, ID: []byte{0xaa}, Nonce: []byte{0xbb, 0xcc}}
	res := PreSharedKeyID{Type: PSKTypeResumption, Usage: UsageBranch, GroupID: []byte{0xdd}, Epoch: 258, Nonce: nil}
	for _, tc := range []struct {
		id   PreSharedKeyID
		want []byte
	}{
		{ext, []byte{1, 1, 0xaa, 2, 0xbb, 0xcc}},
		{res, []byte{2, 3, 1, 0xdd, 0, 0, 0, 0, 0, 0, 1, 2, 0}},
	} {
		got, err := wire.Marshal(&tc.id)
		if err != nil || !bytes.Equal(got, tc.want) {
			t.Errorf("Marshal(%+v) = %x, %v; want %x", tc.id, got, err, tc.want)
		}
	}
}

func TestPreSharedKeyIDRejects(t *testing.T) {
	for _, enc := range [][]byte{
		{0, 0},                               // reserved psktype
		{3, 0, 0},                            // unknown psktype
		{2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, // reserved usage
		{2, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, // unknown usage
		{1, 0x40, 0x01, 0, 0},                // non-minimal varint
		{1, 5, 1, 2},                         // truncated psk_id
	} {
		var id PreSharedKeyID
		if err := wire.Unmarshal(enc, &id); !errors.Is(err, wire.ErrDecode) {
			t.Errorf("Unmarshal(%x) err = %v", enc, err)
		}
	}
	for _, id := range []PreSharedKeyID{{Type: 0}, {Type: 9}, {Type: PSKTypeResumption, Usage: 0}} {
		if _, err := wire.Marshal(&id); !errors.Is(err, wire.ErrEncode) || !errors.Is(err, ErrInvalidPSK) {
			t.Errorf("Marshal(%+v) err = %v", id, err)
		}
	}
}

func TestPreSharedKeyIDValidate(t *testing.T) {
	s := mustSuite(t, suite.MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519)
	ok := PreSharedKeyID{Type: PSKTypeExternal, ID: []byte("x"), Nonce: filled(32, 1)}
	if err := ok.Validate(s); err != nil {
		t.Errorf("Validate: %v", err)
	}
	for _, id := range []PreSharedKeyID{
		{Type: PSKTypeExternal, Nonce: filled(31, 1)},
		{Type: PSKTypeResumption, Usage: 7, Nonce: filled(32, 1)},
		{Type: 0, Nonce: filled(32, 1)},
	} {
		if err := id.Validate(s); !errors.Is(err, ErrInvalidPSK) {
			t.Errorf("Validate(%+v) = %v", id, err)
		}
	}
}

func TestPSKSecret(t *testing.T) {
	s := mustSuite(t, suite.MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519)
	zero, err := PSKSecret(s, nil)
	if err != nil || !bytes.Equal(zero, make([]byte, s.HashSize())) {
		t.Errorf("no PSKs: %x, %v; want the zero vector", zero, err)
	}
	a := PSK{ID: PreSharedKeyID{Type: PSKTypeExternal, ID: []byte("a"), Nonce: filled(32, 1)}, Secret: []byte("secret a")}
	b := PSK{ID: PreSharedKeyID{Type: PSKTypeResumption, Usage: UsageApplication, GroupID: []byte("g"), Epoch: 3, Nonce: filled(32, 2)}, Secret: filled(32, 5)}
	ab, err := PSKSecret(s, []PSK{a, b})
	if err != nil {
		t.Fatal(err)
	}
	ba, _ := PSKSecret(s, []PSK{b, a})
	if bytes.Equal(ab, ba) {
		t.Error("PSK order does not matter")
	}
	if _, err := PSKSecret(s, make([]PSK, 1<<16)); !errors.Is(err, ErrTooManyPSKs) {
		t.Errorf("65536 PSKs: err = %v", err)
	}
	bad := []PSK{{ID: PreSharedKeyID{Type: 0}}}
	if _, err := PSKSecret(s, bad); err == nil {
		t.Error("PSK with reserved type accepted")
	}
}

func FuzzPreSharedKeyID(f *testing.F) {
	rng := rand.New(rand.NewPCG(5, 6))
	for range 8 {
		id := randomPSKID(rng)
		enc, _ := wire.Marshal(&id)
		f.Add(enc)
	}
	f.Add([]byte{})
	f.Add([]byte{2, 2, 0x40, 0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		var id PreSharedKeyID
		if err := wire.Unmarshal(data, &id); err != nil {
			if !errors.Is(err, wire.ErrDecode) {
				t.Fatalf("error not ErrDecode: %v", err)
			}
			return
		}
		// Strict decoding: what decodes re-encodes to the same bytes.
		enc, err := wire.Marshal(&id)
		if err != nil {
			t.Fatalf("re-encoding a decoded value: %v", err)
		}
		if !bytes.Equal(enc, data) {
			t.Fatalf("re-encoding %x gives %x", data, enc)
		}
	})
}
