// Package tap is a small stand-in for github.com/mndrix/tap-go (which Debian
// does not package), written for skiff's test harness. It implements the
// subset of that API used by runtime-tools' validation tests and runtimetest,
// printing TAP version 13.
package tap

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

// T is a TAP producer.
type T struct {
	nextTestNumber int
	todo           bool
	Writer         io.Writer
}

// New creates a producer writing to stdout.
func New() *T {
	return &T{nextTestNumber: 1, Writer: os.Stdout}
}

func (t *T) printf(format string, a ...interface{}) {
	fmt.Fprintf(t.Writer, format, a...)
}

// Header prints the version line and, when testCount > 0, the plan.
func (t *T) Header(testCount int) {
	t.printf("TAP version 13\n")
	if testCount > 0 {
		t.printf("1..%d\n", testCount)
	}
}

// Ok reports a test result.
func (t *T) Ok(test bool, description string) {
	ok := "ok"
	if !test {
		ok = "not ok"
	}
	if t.todo {
		t.printf("%s %d # TODO %s\n", ok, t.nextTestNumber, description)
		t.todo = false
	} else {
		t.printf("%s %d - %s\n", ok, t.nextTestNumber, description)
	}
	t.nextTestNumber++
}

// Fail reports a failing test.
func (t *T) Fail(description string) { t.Ok(false, description) }

// Pass reports a passing test.
func (t *T) Pass(description string) { t.Ok(true, description) }

// Skip reports count skipped tests.
func (t *T) Skip(count int, description string) {
	for i := 0; i < count; i++ {
		t.printf("ok %d # SKIP %s\n", t.nextTestNumber, description)
		t.nextTestNumber++
	}
}

// Todo marks the next test as TODO.
func (t *T) Todo() *T {
	t.todo = true
	return t
}

// Count returns the number of tests reported so far.
func (t *T) Count() int { return t.nextTestNumber - 1 }

// AutoPlan prints the plan for the tests reported so far.
func (t *T) AutoPlan() { t.printf("1..%d\n", t.Count()) }

// Diagnostic prints a comment.
func (t *T) Diagnostic(message string) {
	t.printf("# %s\n", strings.Replace(message, "\n", "\n# ", -1))
}

// Diagnosticf prints a formatted comment.
func (t *T) Diagnosticf(format string, a ...interface{}) {
	t.Diagnostic(fmt.Sprintf(format, a...))
}

// YAML prints a YAML block (JSON is valid YAML) attached to the last test.
func (t *T) YAML(message interface{}) error {
	b, err := json.MarshalIndent(message, "  ", "  ")
	if err != nil {
		return err
	}
	t.printf("  ---\n  %s\n  ...\n", b)
	return nil
}
