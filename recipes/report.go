package recipes

import (
	"fmt"
	"sort"
	"strings"
)

// Severity of a report entry.
type Severity int

// Severities.
const (
	SeverityError Severity = iota
	SeverityWarning
)

// Pos is a place in a source file. Line and Column start at 1; zero means
// unknown.
type Pos struct {
	File   string `json:"file"`
	Line   int    `json:"line,omitempty"`
	Column int    `json:"column,omitempty"`
}

func (p Pos) String() string {
	if p.Line == 0 {
		return p.File
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Column)
}

// Entry is one problem found in a recipe.
type Entry struct {
	Severity Severity `json:"-"`
	// Path is the field path, e.g. runtime.mirrors[0].endpoints[1].
	Path    string `json:"path"`
	Message string `json:"message"`
	Pos     Pos    `json:"pos"`
}

func (e Entry) String() string {
	var b strings.Builder
	b.WriteString(e.Pos.String())
	b.WriteString(": ")
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	if e.Severity == SeverityWarning {
		b.WriteString("warning: ")
	}
	b.WriteString(e.Message)
	return b.String()
}

// Report collects every problem found while loading and validating a
// recipe, errors apart from warnings.
type Report struct {
	Entries []Entry
}

// Errorf adds an error at path.
func (r *Report) Errorf(path, format string, args ...any) {
	r.Entries = append(r.Entries, Entry{Severity: SeverityError, Path: path, Message: fmt.Sprintf(format, args...)})
}

// Warnf adds a warning at path.
func (r *Report) Warnf(path, format string, args ...any) {
	r.Entries = append(r.Entries, Entry{Severity: SeverityWarning, Path: path, Message: fmt.Sprintf(format, args...)})
}

// Merge appends the entries of o.
func (r *Report) Merge(o Report) { r.Entries = append(r.Entries, o.Entries...) }

// Errors returns the error entries.
func (r Report) Errors() []Entry { return r.filter(SeverityError) }

// Warnings returns the warning entries.
func (r Report) Warnings() []Entry { return r.filter(SeverityWarning) }

// IsFatal reports whether the report holds an error.
func (r Report) IsFatal() bool { return len(r.Errors()) > 0 }

func (r Report) filter(s Severity) []Entry {
	var out []Entry
	for _, e := range r.Entries {
		if e.Severity == s {
			out = append(out, e)
		}
	}
	return out
}

// Sort orders entries by file position, then path, keeping errors before
// warnings.
func (r *Report) Sort() {
	sort.SliceStable(r.Entries, func(i, j int) bool {
		a, b := r.Entries[i], r.Entries[j]
		if a.Severity != b.Severity {
			return a.Severity < b.Severity
		}
		if a.Pos.File != b.Pos.File {
			return a.Pos.File < b.Pos.File
		}
		if a.Pos.Line != b.Pos.Line {
			return a.Pos.Line < b.Pos.Line
		}
		if a.Pos.Column != b.Pos.Column {
			return a.Pos.Column < b.Pos.Column
		}
		return a.Path < b.Path
	})
}

// String prints one entry a line, errors first.
func (r Report) String() string {
	var b strings.Builder
	for _, e := range append(r.Errors(), r.Warnings()...) {
		b.WriteString(e.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// InvalidError is returned when a recipe has errors; it carries the report.
type InvalidError struct {
	Report Report
}

func (e *InvalidError) Error() string {
	errs := e.Report.Errors()
	if len(errs) == 1 {
		return "invalid recipe: " + errs[0].String()
	}
	return fmt.Sprintf("invalid recipe: %d errors:\n%s", len(errs), strings.TrimRight(Report{Entries: errs}.String(), "\n"))
}
