package treekem

import (
	"errors"
	"fmt"
)

var errUnknownCredential = fmt.Errorf("treekem: cannot encode a credential of unknown type: %w", errEncode)

var errEncode = errors.New("treekem: cannot encode")
