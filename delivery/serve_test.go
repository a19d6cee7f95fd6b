package delivery

import "testing"

func TestRedactStoreURL(t *testing.T) {
	for in, want := range map[string]string{
		"memory:":                                    "memory:",
		"sqlite:/var/lib/mls/ds.db":                  "sqlite:/var/lib/mls/ds.db",
		"postgres://mls:secret@db.example/mls":       "postgres://mls:xxxxx@db.example/mls",
		"postgres://mls@db.example/mls":              "postgres://mls@db.example/mls",
		"postgresql://mls:secret@db.example:bad/mls": "postgres://…",
	} {
		if got := RedactStoreURL(in); got != want {
			t.Errorf("RedactStoreURL(%q) = %q, want %q", in, got, want)
		}
	}
}
