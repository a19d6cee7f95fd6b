package suite

import (
	"fmt"
	"strconv"
	"strings"
)

// ParseID returns the identifier of a supported suite given by number
// (decimal, or hexadecimal with a 0x prefix: "1", "0x0001") or by name
// (case-insensitive: "MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519"), as
// users type them in flags and configuration files. Anything else, and any
// number Lookup rejects, yields an error wrapping ErrUnsupportedSuite.
func ParseID(s string) (ID, error) {
	s = strings.TrimSpace(s)
	if n, err := strconv.ParseUint(s, 0, 16); err == nil {
		if _, err := Lookup(ID(n)); err != nil {
			return 0, err
		}
		return ID(n), nil
	}
	for _, id := range IDs() {
		if strings.EqualFold(id.String(), s) {
			return id, nil
		}
	}
	return 0, fmt.Errorf("%w: %q", ErrUnsupportedSuite, s)
}
