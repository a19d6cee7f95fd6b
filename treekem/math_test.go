package treekem

import "testing"

func TestMathSmall(t *testing.T) {
	// The eight-leaf tree of RFC 9420 Appendix C.
	if r := Root(8); r != 7 {
		t.Fatalf("Root(8) = %d", r)
	}
	if p := NodeIndex(0).Parent(); p != 1 {
		t.Fatalf("Parent(0) = %d", p)
	}
	if l, r := NodeIndex(7).Left(), NodeIndex(7).Right(); l != 3 || r != 11 {
		t.Fatalf("children of 7 = %d, %d", l, r)
	}
	if got := DirectPath(0, 8); len(got) != 3 || got[0] != 1 || got[1] != 3 || got[2] != 7 {
		t.Fatalf("DirectPath(0) = %v", got)
	}
	if got := Copath(0, 8); len(got) != 3 || got[0] != 2 || got[1] != 5 || got[2] != 11 {
		t.Fatalf("Copath(0) = %v", got)
	}
	if a := CommonAncestor(0, 6); a != 3 {
		t.Fatalf("CommonAncestor(0, 6) = %d", a)
	}
	if a := CommonAncestor(8, 2); a != 7 {
		t.Fatalf("CommonAncestor(8, 2) = %d", a)
	}
}
