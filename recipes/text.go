package recipes

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// badText finds the first byte a YAML document may not hold (invalid UTF-8,
// a NUL or another control character) and reports it at its line and
// column: YAML's own error names no position.
func badText(source string, data []byte) (Entry, bool) {
	line, col := 1, 1
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		at := Pos{File: source, Line: line, Column: col}
		switch {
		case r == utf8.RuneError && size <= 1:
			return Entry{Severity: SeverityError, Message: fmt.Sprintf("invalid UTF-8 (byte 0x%02x): a recipe is UTF-8 text", data[i]), Pos: at}, true
		case r == '\n':
			line, col = line+1, 0
		case r < 0x20 && r != '\t' && r != '\r', r == 0x7f:
			return Entry{Severity: SeverityError, Message: fmt.Sprintf("control character U+%04X is not allowed: a recipe is text", r), Pos: at}, true
		}
		i += size
		col++
	}
	return Entry{}, false
}

// cleanDecodeError shortens the errors of sigs.k8s.io/yaml's JSON step.
func cleanDecodeError(err error) string {
	msg := err.Error()
	for _, p := range []string{"error converting YAML to JSON: ", "error unmarshaling JSON: while decoding JSON: ", "yaml: "} {
		msg = strings.TrimPrefix(msg, p)
	}
	return strings.Join(strings.Fields(msg), " ")
}
