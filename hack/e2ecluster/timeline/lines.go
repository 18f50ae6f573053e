package timeline

import "strings"

// EachLine calls fn with the KIND and TEXT of every "PREFIX KIND TEXT" line
// of a console or report log: prefix may stand anywhere in the line (a
// console puts other output before it), and carriage returns are dropped.
// The timeline's lines and e2e-cluster's report lines share this form.
func EachLine(b []byte, prefix string, fn func(kind, text string)) {
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimRight(line, "\r")
		i := strings.Index(line, prefix)
		if i < 0 {
			continue
		}
		kind, text, _ := strings.Cut(line[i+len(prefix):], " ")
		fn(kind, text)
	}
}
