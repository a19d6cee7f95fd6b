package mls_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestREADMEEmbedding checks that the README's embedding snippet is the
// body of Example, which the test build compiles and go test runs: the
// snippet compiles, checks its errors and creates its signer. Example is
// at most 30 lines and example_test.go imports no package of this module
// but mls.
func TestREADMEEmbedding(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	section := string(readme)
	i := strings.Index(section, "## Embedding the library")
	if i < 0 {
		t.Fatal("README.md has no section \"Embedding the library\"")
	}
	section = section[i:]
	start := strings.Index(section, "```go\n")
	if start < 0 {
		t.Fatal("no Go block in the README's embedding section")
	}
	snippet := section[start+len("```go\n"):]
	snippet = snippet[:strings.Index(snippet, "```")]

	src, err := os.ReadFile("example_test.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "example_test.go", src, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range f.Imports {
		path, _ := strconv.Unquote(imp.Path.Value)
		if strings.HasPrefix(path, "github.com/mlsengine/engine/") && path != "github.com/mlsengine/engine/mls" {
			t.Errorf("example_test.go imports %s", path)
		}
	}
	var body string
	var lines int
	for _, d := range f.Decls {
		if fn, ok := d.(*ast.FuncDecl); ok && fn.Name.Name == "Example" && fn.Recv == nil {
			from, to := fset.Position(fn.Body.Lbrace).Offset+2, fset.Position(fn.Body.Rbrace).Offset
			body = string(src[from:to])
			lines = fset.Position(fn.Body.Rbrace).Line - fset.Position(fn.Body.Lbrace).Line - 1
		}
	}
	if body == "" {
		t.Fatal("no func Example in example_test.go")
	}
	if lines > 30 {
		t.Errorf("Example has %d lines, want at most 30", lines)
	}
	var want strings.Builder
	for _, l := range strings.SplitAfter(body, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "// Output") {
			continue
		}
		want.WriteString(strings.TrimPrefix(l, "\t"))
	}
	if snippet != want.String() {
		t.Errorf("the README's embedding snippet differs from Example's body:\n--- README\n%s--- Example\n%s", snippet, want.String())
	}
}
