package suite

import (
	"errors"
	"testing"
)

func TestParseID(t *testing.T) {
	for in, want := range map[string]ID{
		"1":      MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519,
		"0x0001": MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519,
		"0x7":    MLS_256_DHKEMP384_AES256GCM_SHA384_P384,
		" 3 ":    MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519,
		"MLS_128_DHKEMP256_AES128GCM_SHA256_P256":  MLS_128_DHKEMP256_AES128GCM_SHA256_P256,
		"mls_256_dhkemx448_aes256gcm_sha512_ed448": MLS_256_DHKEMX448_AES256GCM_SHA512_Ed448,
	} {
		if got, err := ParseID(in); err != nil || got != want {
			t.Errorf("ParseID(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0", "0x0a0a", "65536", "-1", "x25519", "MLS_128", "0x", "1.0"} {
		if got, err := ParseID(in); !errors.Is(err, ErrUnsupportedSuite) {
			t.Errorf("ParseID(%q) = %v, %v; want ErrUnsupportedSuite", in, got, err)
		}
	}
}
