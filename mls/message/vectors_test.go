package message

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"sort"
	"testing"

	"github.com/mlsengine/engine/mls/wire"
	"github.com/mlsengine/engine/treekem"

	"github.com/mlsengine/engine/testvectors/vectordir"
)

// codec is a structure with an RFC 9420 encoding.
type codec interface {
	wire.Marshaler
	wire.Unmarshaler
}

// messagesFields maps each field of messages.json to the structure it
// encodes.
var messagesFields = map[string]func() codec{
	"mls_welcome":                       func() codec { return new(MLSMessage) },
	"mls_group_info":                    func() codec { return new(MLSMessage) },
	"mls_key_package":                   func() codec { return new(MLSMessage) },
	"ratchet_tree":                      func() codec { return new(treekem.NodeList) },
	"group_secrets":                     func() codec { return new(GroupSecrets) },
	"add_proposal":                      func() codec { return new(Add) },
	"update_proposal":                   func() codec { return new(Update) },
	"remove_proposal":                   func() codec { return new(Remove) },
	"pre_shared_key_proposal":           func() codec { return new(PreSharedKey) },
	"re_init_proposal":                  func() codec { return new(ReInit) },
	"external_init_proposal":            func() codec { return new(ExternalInit) },
	"group_context_extensions_proposal": func() codec { return new(GroupContextExtensions) },
	"commit":                            func() codec { return new(Commit) },
	"public_message_application":        func() codec { return new(MLSMessage) },
	"public_message_proposal":           func() codec { return new(MLSMessage) },
	"public_message_commit":             func() codec { return new(MLSMessage) },
	"private_message":                   func() codec { return new(MLSMessage) },
}

// vectorField is one field of one case of messages.json.
type vectorField struct {
	Case  int
	Name  string
	Data  []byte
	Codec func() codec
}

// loadMessagesVectors returns every field of every case of messages.json.
func loadMessagesVectors(tb testing.TB) []vectorField {
	tb.Helper()
	data, err := os.ReadFile(vectordir.Path(tb, "messages.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var cases []map[string]string
	if err := json.Unmarshal(data, &cases); err != nil {
		tb.Fatal(err)
	}
	var out []vectorField
	for i, c := range cases {
		names := make([]string, 0, len(c))
		for name := range c {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			newCodec, ok := messagesFields[name]
			if !ok {
				tb.Fatalf("case %d: unknown field %q", i, name)
			}
			b, err := hex.DecodeString(c[name])
			if err != nil {
				tb.Fatalf("case %d: %s: %v", i, name, err)
			}
			out = append(out, vectorField{Case: i, Name: name, Data: b, Codec: newCodec})
		}
	}
	return out
}
