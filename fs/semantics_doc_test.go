package fs

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestSemanticsDoc checks that every test SEMANTICS.md cites exists (in fs
// or in manage), and
// that the tenets are numbered 1..N without gaps.
func TestSemanticsDoc(t *testing.T) {
	doc, err := os.ReadFile("SEMANTICS.md")
	if err != nil {
		t.Fatal(err)
	}
	var src strings.Builder
	files, _ := filepath.Glob("*_test.go")
	more, _ := filepath.Glob("../manage/*_test.go") // management moved there (issue 14)
	files = append(files, more...)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		src.Write(b)
	}
	cited := regexp.MustCompile(`\[([^\]]+)\]`).FindAllStringSubmatch(string(doc), -1)
	if len(cited) < 15 {
		t.Fatalf("only %d citations", len(cited))
	}
	for _, c := range cited {
		for _, name := range strings.Split(c[1], ",") {
			name = strings.TrimSpace(name)
			if strings.HasPrefix(name, "posixtest") {
				continue
			}
			if !strings.Contains(src.String(), "func "+name+"(") {
				t.Errorf("SEMANTICS.md cites %s, which does not exist", name)
			}
		}
	}
	num := regexp.MustCompile(`(?m)^(\d+)\. \*\*`).FindAllStringSubmatch(string(doc), -1)
	for i, m := range num {
		if m[1] != strconv.Itoa(i+1) {
			t.Fatalf("tenet %d numbered %s", i+1, m[1])
		}
	}
}
