package suite

import (
	"fmt"
	"strconv"
	"strings"
)

// ParseID parses a cipher suite as people and scripts write it: its number
// in decimal or hex ("1", "0x0001") or its IANA name, case-insensitively
// ("MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519"). A suite that is not
// supported (see Lookup) yields an error wrapping ErrUnsupportedSuite that
// lists the accepted forms.
func ParseID(s string) (ID, error) {
	id, ok := ID(0), false
	if n, err := strconv.ParseUint(s, 0, 16); err == nil {
		id, ok = ID(n), true
	} else {
		for _, c := range IDs() {
			if strings.EqualFold(c.String(), s) {
				id, ok = c, true
			}
		}
	}
	if ok {
		if _, err := Lookup(id); err == nil {
			return id, nil
		}
	}
	ids := IDs()
	return 0, fmt.Errorf("%w: %q: want a number from %d to %d or a name such as %v", ErrUnsupportedSuite, s, ids[0], ids[len(ids)-1], ids[0])
}
