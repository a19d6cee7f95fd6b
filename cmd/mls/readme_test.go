package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestREADMEWalkthrough runs the README's `mls client` walkthrough, command
// by command, against a real `mls ds serve` in another process (on a free
// port, given to the clients as $MLS_DS, with its SQLite store in a
// temporary folder), and checks each output the README shows after "#":
// its lines separated by " / ", "…" standing for a hex value. A command
// with no output shown must succeed and print to stdout only.
func TestREADMEWalkthrough(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(data), "A walkthrough")
	if !ok {
		t.Fatal("README: no walkthrough")
	}
	_, block, ok := strings.Cut(after, "```sh\n")
	if ok {
		block, _, ok = strings.Cut(block, "```")
	}
	if !ok {
		t.Fatal("README: the walkthrough has no sh block")
	}
	t.Chdir(t.TempDir())
	commands := 0
	for _, line := range splitLines(block) {
		cmdline, comment, _ := strings.Cut(line, "#")
		args := strings.Fields(cmdline)
		if len(args) == 0 || args[0] != "mls" {
			t.Fatalf("README walkthrough line %q is not an mls command", line)
		}
		args = args[1:]
		if len(args) >= 2 && args[0] == "ds" && args[1] == "serve" {
			if args[len(args)-1] != "&" || !slices.Contains(args, "--store") {
				t.Fatalf("README walkthrough: %q", line)
			}
			ds := startDS(t, "127.0.0.1:0", "sqlite:"+filepath.Join(t.TempDir(), "ds.db"))
			t.Setenv("MLS_DS", "http://"+ds.addr)
			continue
		}
		var out, errOut bytes.Buffer
		code := run(context.Background(), args, &out, &errOut)
		if code != exitOK || errOut.Len() > 0 {
			t.Fatalf("README walkthrough %q: exit %d\nstdout: %s\nstderr: %s", line, code, out.String(), errOut.String())
		}
		commands++
		comment = strings.TrimSpace(comment)
		if comment == "" {
			continue
		}
		want := strings.Split(comment, " / ")
		got := splitLines(out.String())
		if len(got) != len(want) {
			t.Fatalf("README walkthrough %q printed %q, the README shows %q", line, got, want)
		}
		for i := range want {
			re := regexp.MustCompile("^" + strings.ReplaceAll(regexp.QuoteMeta(want[i]), "…", "[0-9a-f]+") + "$")
			if !re.MatchString(got[i]) {
				t.Fatalf("README walkthrough %q printed %q, the README shows %q", line, got[i], want[i])
			}
		}
	}
	if commands < 10 {
		t.Fatalf("README walkthrough: only %d commands", commands)
	}
}
