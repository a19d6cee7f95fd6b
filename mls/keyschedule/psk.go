package keyschedule

import (
	"fmt"

	"github.com/mlsengine/engine/mls/suite"
	"github.com/mlsengine/engine/mls/wire"
)

// PSKType is how a pre-shared key was provisioned (§8.4).
type PSKType uint8

// PSK types of §8.4; 0 is reserved.
const (
	PSKTypeExternal   PSKType = 1
	PSKTypeResumption PSKType = 2
)

func (t PSKType) String() string {
	switch t {
	case PSKTypeExternal:
		return "external"
	case PSKTypeResumption:
		return "resumption"
	}
	return fmt.Sprintf("PSKType(%d)", uint8(t))
}

// ResumptionPSKUsage is what a resumption PSK is used for (§8.4).
type ResumptionPSKUsage uint8

// Resumption PSK usages of §8.4; 0 is reserved.
const (
	UsageApplication ResumptionPSKUsage = 1
	UsageReinit      ResumptionPSKUsage = 2
	UsageBranch      ResumptionPSKUsage = 3
)

func (u ResumptionPSKUsage) String() string {
	switch u {
	case UsageApplication:
		return "application"
	case UsageReinit:
		return "reinit"
	case UsageBranch:
		return "branch"
	}
	return fmt.Sprintf("ResumptionPSKUsage(%d)", uint8(u))
}

// PreSharedKeyID identifies a pre-shared key (§8.4):
//
//	struct {
//	  PSKType psktype;
//	  select (PreSharedKeyID.psktype) {
//	    case external:   opaque psk_id<V>;
//	    case resumption: ResumptionPSKUsage usage; opaque psk_group_id<V>; uint64 psk_epoch;
//	  };
//	  opaque psk_nonce<V>;
//	} PreSharedKeyID;
//
// ID is used by external PSKs only; Usage, GroupID and Epoch by resumption
// PSKs only. The encoding ignores the fields of the other type.
type PreSharedKeyID struct {
	Type    PSKType
	ID      []byte             // psk_id (external)
	Usage   ResumptionPSKUsage // usage (resumption)
	GroupID []byte             // psk_group_id (resumption)
	Epoch   uint64             // psk_epoch (resumption)
	Nonce   []byte             // psk_nonce
}

// MarshalMLS encodes id. An unknown type or usage is an encoding error.
func (id *PreSharedKeyID) MarshalMLS(b *wire.Builder) {
	b.AddUint8(uint8(id.Type))
	switch id.Type {
	case PSKTypeExternal:
		b.AddVector(id.ID)
	case PSKTypeResumption:
		if !validUsage(id.Usage) {
			b.SetError(fmt.Errorf("%w: %w: %v", wire.ErrEncode, ErrInvalidPSK, id.Usage))
			return
		}
		b.AddUint8(uint8(id.Usage))
		b.AddVector(id.GroupID)
		b.AddUint64(id.Epoch)
	default:
		b.SetError(fmt.Errorf("%w: %w: %v", wire.ErrEncode, ErrInvalidPSK, id.Type))
		return
	}
	b.AddVector(id.Nonce)
}

// UnmarshalMLS decodes id strictly: a reserved or unknown psktype or usage
// is rejected. The decoded byte slices alias the input.
func (id *PreSharedKeyID) UnmarshalMLS(r *wire.Reader) bool {
	*id = PreSharedKeyID{}
	var t uint8
	if !r.ReadUint8(&t) {
		return false
	}
	id.Type = PSKType(t)
	switch id.Type {
	case PSKTypeExternal:
		if !r.ReadVector(&id.ID) {
			return false
		}
	case PSKTypeResumption:
		var u uint8
		if !r.ReadUint8(&u) {
			return false
		}
		id.Usage = ResumptionPSKUsage(u)
		if !validUsage(id.Usage) {
			return r.Fail("unknown ResumptionPSKUsage")
		}
		if !r.ReadVector(&id.GroupID) || !r.ReadUint64(&id.Epoch) {
			return false
		}
	default:
		return r.Fail("unknown PSKType")
	}
	return r.ReadVector(&id.Nonce)
}

func validUsage(u ResumptionPSKUsage) bool {
	return u == UsageApplication || u == UsageReinit || u == UsageBranch
}

// Validate checks the rules of §12.1.4 that do not depend on the group's
// state: a known type (and usage, for resumption PSKs) and a psk_nonce of
// length KDF.Nh. Whether reinit and branch usages are allowed depends on
// the operation and is for the caller to check.
func (id *PreSharedKeyID) Validate(s *suite.Suite) error {
	switch id.Type {
	case PSKTypeExternal:
	case PSKTypeResumption:
		if !validUsage(id.Usage) {
			return fmt.Errorf("%w: usage %v", ErrInvalidPSK, id.Usage)
		}
	default:
		return fmt.Errorf("%w: type %v", ErrInvalidPSK, id.Type)
	}
	// §12.1.4: the PreSharedKey proposal is invalid if the psk_nonce is not
	// of length KDF.Nh.
	if len(id.Nonce) != s.HashSize() {
		return fmt.Errorf("%w: psk_nonce has %d bytes, want %d", ErrInvalidPSK, len(id.Nonce), s.HashSize())
	}
	return nil
}

// PSKLabel is the context of the "derived psk" expansion (§8.4):
//
//	struct { PreSharedKeyID id; uint16 index; uint16 count; } PSKLabel;
type PSKLabel struct {
	ID    PreSharedKeyID
	Index uint16
	Count uint16
}

// MarshalMLS encodes l.
func (l *PSKLabel) MarshalMLS(b *wire.Builder) {
	l.ID.MarshalMLS(b)
	b.AddUint16(l.Index)
	b.AddUint16(l.Count)
}

// UnmarshalMLS decodes l strictly.
func (l *PSKLabel) UnmarshalMLS(r *wire.Reader) bool {
	return l.ID.UnmarshalMLS(r) && r.ReadUint16(&l.Index) && r.ReadUint16(&l.Count)
}

// PSK is a pre-shared key with its identifier: for an external PSK the
// secret the application provisioned, for a resumption PSK the
// resumption_psk of the referenced group and epoch.
type PSK struct {
	ID     PreSharedKeyID
	Secret []byte
}

// PSKSecret computes psk_secret from the PSKs of a Commit or GroupSecrets,
// in their order (§8.4):
//
//	psk_extracted_[i] = KDF.Extract(0, psk_[i])
//	psk_input_[i]     = ExpandWithLabel(psk_extracted_[i], "derived psk", PSKLabel, KDF.Nh)
//	psk_secret_[0]    = 0
//	psk_secret_[i]    = KDF.Extract(psk_input_[i-1], psk_secret_[i-1])
//
// With no PSKs the result is the all-zero vector of length KDF.Nh.
func PSKSecret(s *suite.Suite, psks []PSK) ([]byte, error) {
	if len(psks) > 1<<16-1 {
		return nil, fmt.Errorf("%w: %d", ErrTooManyPSKs, len(psks))
	}
	nh := s.HashSize()
	zero := make([]byte, nh)
	secret := make([]byte, nh)
	for i := range psks {
		label := PSKLabel{ID: psks[i].ID, Index: uint16(i), Count: uint16(len(psks))}
		ctx, err := wire.Marshal(&label)
		if err != nil {
			clear(secret)
			return nil, fmt.Errorf("keyschedule: PSK %d: %w", i, err)
		}
		extracted := s.Extract(zero, psks[i].Secret)
		input, err := s.ExpandWithLabel(extracted, "derived psk", ctx, nh)
		clear(extracted)
		if err != nil {
			clear(secret)
			return nil, internal("derived psk", err)
		}
		next := s.Extract(input, secret)
		clear(input)
		clear(secret)
		secret = next
	}
	return secret, nil
}
