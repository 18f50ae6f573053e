package recipes

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// positions maps field paths (base.distro, runtime.mirrors[0].registry,
// node.sysctls[net.ipv4.ip_forward]) to where they stand in one file.
type positions struct {
	file  string
	paths map[string]Pos
	// modes are file modes written as unquoted octal numbers, by path,
	// normalized to the digits a person meant (see plainString).
	modes map[string]string
	// pruned are the paths whose values had the wrong shape: reported,
	// and dropped before decoding.
	pruned map[string]bool
}

// underPruned reports whether path is one of the pruned paths or below
// one.
func (p positions) underPruned(path string) bool {
	for q := path; q != ""; q = parentPath(q) {
		if p.pruned[q] {
			return true
		}
	}
	return false
}

// lookup finds path, or the nearest parent path that has a position.
func (p positions) lookup(path string) (Pos, bool) {
	for path != "" {
		if pos, ok := p.paths[path]; ok {
			return pos, true
		}
		path = parentPath(path)
	}
	return Pos{}, false
}

// setting finds the position of the value that sets path: path itself, or
// a scalar or list above it (a map above it sets only its own keys).
func (p positions) setting(path string) (Pos, bool) {
	for q := path; q != ""; q = parentPath(q) {
		pos, ok := p.paths[q]
		if !ok {
			continue
		}
		if q == path {
			return pos, true
		}
		for other := range p.paths {
			if strings.HasPrefix(other, q+".") || strings.HasPrefix(other, q+"[") {
				return Pos{}, false
			}
		}
		return pos, true
	}
	return Pos{}, false
}

// parentPath drops the last element of a field path.
func parentPath(path string) string {
	if strings.HasSuffix(path, "]") {
		if i := strings.LastIndex(path, "["); i >= 0 {
			return path[:i]
		}
	}
	if i := strings.LastIndex(path, "."); i >= 0 {
		return path[:i]
	}
	return ""
}

// checkSchema walks doc along the Go type t (json tags name fields), records
// the position of every path and reports unknown fields and values of the
// wrong shape.
func checkSchema(file string, doc *yaml.Node, t reflect.Type, rep *Report) positions {
	pos := positions{file: file, paths: map[string]Pos{}, modes: map[string]string{}, pruned: map[string]bool{}}
	w := schemaWalker{pos: pos, rep: rep, modes: pos.modes}
	if doc.Kind == yaml.DocumentNode && len(doc.Content) > 0 {
		doc = doc.Content[0]
	}
	w.walk("", doc, t)
	return pos
}

type schemaWalker struct {
	pos positions
	rep *Report
	// modes collects the file modes written as unquoted octal numbers,
	// by path, as a person means them (0644); the decoder reads them as
	// numbers (420), so they are set again after decoding.
	modes map[string]string
}

func (w schemaWalker) at(n *yaml.Node) Pos {
	return Pos{File: w.pos.file, Line: n.Line, Column: n.Column}
}

// prune reports a value of the wrong shape and drops it from the document
// (it becomes null), so that the rest still decodes and every other
// problem is reported too.
func (w schemaWalker) prune(n *yaml.Node, path, format string, args ...any) {
	w.errorf(n, path, format, args...)
	w.pos.pruned[path] = true
	*n = yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null", Line: n.Line, Column: n.Column}
}

// duplicates reports every key of a mapping that appeared before in it.
func (w schemaWalker) duplicates(path string, n *yaml.Node, key func(string) string) {
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if first, ok := seen[k.Value]; ok {
			w.errorf(k, key(k.Value), "duplicate key %q (first at line %d)", k.Value, first.Line)
			continue
		}
		seen[k.Value] = k
	}
}

func (w schemaWalker) errorf(n *yaml.Node, path, format string, args ...any) {
	w.rep.Entries = append(w.rep.Entries, Entry{
		Severity: SeverityError, Path: path, Message: fmt.Sprintf(format, args...), Pos: w.at(n),
	})
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func (w schemaWalker) walk(path string, n *yaml.Node, t reflect.Type) {
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if path != "" {
		w.pos.paths[path] = w.at(n)
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			w.prune(n, path, "expected a mapping, got %s", describe(n))
			return
		}
		w.duplicates(path, n, func(k string) string { return join(path, k) })
		fields := jsonFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			f, ok := fields[k.Value]
			if !ok {
				w.pos.paths[join(path, k.Value)] = w.at(k)
				w.errorf(k, join(path, k.Value), "unknown field %q%s", k.Value, suggest(k.Value, fields))
				continue
			}
			w.walk(join(path, k.Value), v, f)
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			w.prune(n, path, "expected a mapping, got %s", describe(n))
			return
		}
		w.duplicates(path, n, func(k string) string { return path + "[" + k + "]" })
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := path + "[" + k.Value + "]"
			w.walk(p, v, t.Elem())
			w.pos.paths[p] = w.at(k)
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			w.prune(n, path, "expected a list, got %s", describe(n))
			return
		}
		for i, c := range n.Content {
			w.walk(path+"["+strconv.Itoa(i)+"]", c, t.Elem())
		}
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			w.prune(n, path, "expected a string, got %s", describe(n))
			return
		}
		w.plainString(path, n)
	case reflect.Bool:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
			w.prune(n, path, "expected true or false, got %s", describe(n))
		}
	}
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("%q", n.Value)
	}
	return "something else"
}

// jsonFields maps json names to field types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name := strings.Split(f.Tag.Get("json"), ",")[0]
		if name == "" || name == "-" {
			continue
		}
		out[name] = f.Type
	}
	return out
}

// suggest proposes a known field that differs only in case.
func suggest(name string, fields map[string]reflect.Type) string {
	for k := range fields {
		if strings.EqualFold(k, name) {
			return fmt.Sprintf(" (did you mean %q?)", k)
		}
	}
	return ""
}
