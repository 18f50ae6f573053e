package recipes

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"

	yaml "go.yaml.in/yaml/v3"
	k8syaml "sigs.k8s.io/yaml"
)

// Loaded is a recipe after decode, defaults and validation, with the report
// of every problem found and where each field came from.
type Loaded struct {
	// Recipe is the decoded and defaulted recipe. It is nil when the
	// document could not be decoded at all.
	Recipe *Recipe
	// Report holds every error and warning, with positions.
	Report Report
	// Source names the document: a file path or builtin:NAME.
	Source string
	// Facts are what the recipe selects from kubebake's tables (distro,
	// family, runtime, Kubernetes release), looked up once.
	Facts Facts

	pos      positions
	overlays []positions
	fromPos  Pos
	// bases are the recipes `from` names, nearest first.
	bases []baseLevel
}

// baseLevel is one recipe of a `from` chain: where its fields stand, and
// whether it is a built-in (whose fields are placed at the `from` line
// that named it) or a file of the user's (whose fields are placed in it).
type baseLevel struct {
	pos     positions
	builtin bool
	fromPos Pos
}

// MaxFromDepth bounds a chain of `from` recipes.
const MaxFromDepth = 8

// Load reads a recipe by built-in name or file path, then decodes, defaults
// and validates it. The error is an *InvalidError when the report has
// errors; the returned Loaded carries the report either way.
func Load(ref string) (*Loaded, error) { return LoadWith(ref) }

// Overlay is a partial recipe document laid over a recipe before defaults
// and validation: its scalars and lists replace, its maps merge. The Packer
// provisioner's overrides and the CLI's flags arrive this way. A report
// entry on a field the overlay sets is placed in the overlay.
type Overlay struct {
	// Source names the overlay in messages (e.g. "overrides").
	Source string
	// Data is a YAML (or JSON) document with Recipe fields only.
	Data []byte
	// Generated means a program wrote Data, not a person: its entries are
	// placed at Source alone, without a line and column.
	Generated bool
}

// Field is one recipe field set from outside a recipe document, by a
// dotted path such as kubernetes.local.dir.
type Field struct {
	Path  string
	Value any
}

// FieldOverlay is the overlay that sets each field to its value; fields
// whose value is nil or "" are left out.
func FieldOverlay(source string, fields ...Field) (Overlay, error) {
	doc := map[string]any{}
	for _, f := range fields {
		if f.Value == nil || f.Value == "" {
			continue
		}
		keys := strings.Split(f.Path, ".")
		m := doc
		for _, k := range keys[:len(keys)-1] {
			next, ok := m[k].(map[string]any)
			if !ok {
				next = map[string]any{}
				m[k] = next
			}
			m = next
		}
		m[keys[len(keys)-1]] = f.Value
	}
	data, err := json.Marshal(doc)
	if err != nil {
		return Overlay{}, fmt.Errorf("%s: %w", source, err)
	}
	return Overlay{Source: source, Data: data, Generated: true}, nil
}

// LoadWith is Load with overlays applied in order after `from`.
func LoadWith(ref string, overlays ...Overlay) (*Loaded, error) {
	if data, ok := builtinData(ref); ok && !strings.ContainsRune(ref, os.PathSeparator) {
		return DecodeWith("builtin:"+ref, data, overlays...)
	}
	data, err := readRecipe(ref)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("recipe %q: %w (built-ins: %s)", ref, ErrNoRecipe, strings.Join(BuiltinNames(), ", "))
		}
		return nil, fmt.Errorf("read recipe: %w", err)
	}
	return DecodeWith(ref, data, overlays...)
}

// MaxRecipeSize bounds a recipe file: its node.files may carry content,
// but a recipe is configuration, not a payload.
const MaxRecipeSize = 4 << 20

// readRecipe reads a recipe file: a regular file (a FIFO would hang) of at
// most MaxRecipeSize bytes.
func readRecipe(path string) ([]byte, error) {
	// O_NONBLOCK: opening a FIFO must not wait for a writer.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file (%s)", path, fi.Mode().Type())
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxRecipeSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxRecipeSize {
		return nil, fmt.Errorf("%s: more than the limit of %d bytes for a recipe", path, MaxRecipeSize)
	}
	return data, nil
}

// Decode decodes a recipe document named source (used in messages), applies
// `from`, defaults and validation.
func Decode(source string, data []byte) (*Loaded, error) {
	return DecodeWith(source, data)
}

// DecodeWith is Decode with overlays applied in order after `from`.
func DecodeWith(source string, data []byte, overlays ...Overlay) (*Loaded, error) {
	l := &Loaded{Source: source}
	r, pos, data, ok := l.decodeDoc(source, data, &l.Report)
	l.pos = pos
	if !ok {
		return l.finish()
	}
	if r.From != "" {
		l.fromPos, _ = pos.lookup("from")
		base, ok := l.applyFrom(r.From, data)
		if !ok {
			return l.finish()
		}
		r = base
	}
	for _, o := range overlays {
		if !l.applyOverlay(r, o) {
			return l.finish()
		}
	}
	if r.Metadata.Name == "" {
		r.Metadata.Name = defaultName(source)
	}
	l.Recipe = r
	l.Facts = lookupFacts(r)
	SetDefaults(r, &l.Facts)
	// A value already reported for its shape is not reported again by
	// validation (it was dropped, and reads as empty there).
	for _, e := range Validate(r, l.Facts).Entries {
		if !l.pruned(e.Path) {
			l.Report.Entries = append(l.Report.Entries, e)
		}
	}
	return l.finish()
}

// decodeDoc decodes one YAML document strictly into a Recipe. It returns
// the document it decoded: data, or data with the values of the wrong shape
// pruned once they are reported.
func (l *Loaded) decodeDoc(source string, data []byte, rep *Report) (*Recipe, positions, []byte, bool) {
	pos := positions{file: source, paths: map[string]Pos{}}
	if e, bad := badText(source, data); bad {
		rep.Entries = append(rep.Entries, e)
		return nil, pos, nil, false
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		rep.Entries = append(rep.Entries, yamlError(source, err))
		return nil, pos, nil, false
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		rep.Entries = append(rep.Entries, Entry{Message: "a recipe file holds exactly one YAML document",
			Pos: Pos{File: source, Line: extra.Line, Column: extra.Column}})
		return nil, pos, nil, false
	}
	before := len(rep.Errors())
	pos = checkSchema(source, &doc, reflect.TypeOf(Recipe{}), rep)
	var r Recipe
	if len(rep.Errors()) > before {
		// Unknown fields, duplicate keys and values of the wrong shape are
		// already reported, and the latter pruned from doc: decode what is
		// left leniently so that validation can report every other problem
		// too.
		pruned, err := yaml.Marshal(&doc)
		if err != nil {
			return nil, pos, nil, false
		}
		if err := k8syaml.Unmarshal(pruned, &r); err != nil {
			rep.Entries = append(rep.Entries, Entry{Message: cleanDecodeError(err), Pos: Pos{File: source}})
			return nil, pos, nil, false
		}
		applyModes(&r, pos.modes)
		return &r, pos, pruned, true
	}
	if err := k8syaml.UnmarshalStrict(data, &r); err != nil {
		rep.Entries = append(rep.Entries, Entry{Message: cleanDecodeError(err), Pos: Pos{File: source}})
		return nil, pos, nil, false
	}
	applyModes(&r, pos.modes)
	return &r, pos, data, true
}

// applyFrom decodes the recipe named from (and the chain of recipes it
// starts from in turn) and the user's document on top.
func (l *Loaded) applyFrom(from string, user []byte) (*Recipe, bool) {
	base, ok := l.resolveFrom(from, l.Source, l.fromPos, []string{filepath.Clean(l.Source)})
	if !ok {
		return nil, false
	}
	// The user's fields override the base's: scalars and lists replace,
	// maps merge.
	base.Metadata = Metadata{}
	if err := k8syaml.Unmarshal(user, base); err != nil {
		l.Report.Entries = append(l.Report.Entries, Entry{Message: err.Error(), Pos: Pos{File: l.Source}})
		return nil, false
	}
	applyModes(base, l.pos.modes)
	return base, true
}

// IsFileRef reports whether a `from` value names a recipe file rather
// than a built-in: it holds a path separator or ends in .yaml or .yml.
func IsFileRef(from string) bool {
	return strings.ContainsRune(from, '/') || strings.HasSuffix(from, ".yaml") || strings.HasSuffix(from, ".yml")
}

// resolveFrom decodes the recipe from names, as the `from` of the document
// source (at fromPos), with chain the sources already on the way (to refuse
// a cycle). A file is read relative to the directory of source. It returns
// the recipe with its own `from` applied, its metadata kept.
func (l *Loaded) resolveFrom(from, source string, fromPos Pos, chain []string) (*Recipe, bool) {
	fail := func(format string, args ...any) (*Recipe, bool) {
		l.Report.Entries = append(l.Report.Entries, Entry{Path: "from", Pos: fromPos, Message: fmt.Sprintf(format, args...)})
		return nil, false
	}
	if len(chain) > MaxFromDepth {
		return fail("more than %d levels of from: %s", MaxFromDepth, strings.Join(append(chain, from), " -> "))
	}
	var name string
	var data []byte
	builtin := !IsFileRef(from)
	if builtin {
		d, ok := builtinData(from)
		if !ok {
			return fail("unknown built-in recipe %q (built-ins: %s; a recipe file is named by a path such as ./%s.yaml)", from, strings.Join(BuiltinNames(), ", "), from)
		}
		name, data = "builtin:"+from, d
	} else {
		if strings.HasPrefix(source, "builtin:") {
			return fail("a built-in recipe cannot start from a file (%q)", from)
		}
		name = from
		if !filepath.IsAbs(name) {
			name = filepath.Join(filepath.Dir(source), from)
		}
		if slices.Contains(chain, name) {
			return fail("from %q makes a cycle: %s", from, strings.Join(append(chain, name), " -> "))
		}
		d, err := readRecipe(name)
		if err != nil {
			return fail("recipe file %q: %v", from, err)
		}
		data = d
	}
	var rep Report
	base, pos, doc, ok := l.decodeDoc(name, data, &rep)
	if builtin {
		if !ok {
			l.Report.Merge(rep)
			return nil, false
		}
	} else {
		// A file of the user's: its own problems are reported in it.
		l.Report.Merge(rep)
		if !ok || rep.IsFatal() {
			return nil, false
		}
	}
	l.bases = append(l.bases, baseLevel{pos: pos, builtin: builtin, fromPos: fromPos})
	if base.From == "" {
		return base, true
	}
	if builtin {
		return fail("built-in recipe %q itself starts from %q; a built-in starts from nothing", from, base.From)
	}
	at, _ := pos.lookup("from")
	under, ok := l.resolveFrom(base.From, name, at, append(chain, name))
	if !ok {
		return nil, false
	}
	meta := base.Metadata
	under.Metadata = Metadata{}
	if err := k8syaml.Unmarshal(doc, under); err != nil {
		l.Report.Entries = append(l.Report.Entries, Entry{Message: err.Error(), Pos: Pos{File: name}})
		return nil, false
	}
	applyModes(under, pos.modes)
	under.Metadata, under.From = meta, ""
	return under, true
}

// applyOverlay checks the overlay against the schema (unknown fields are
// errors, placed in the overlay) and decodes it over r.
func (l *Loaded) applyOverlay(r *Recipe, o Overlay) bool {
	var doc yaml.Node
	if err := yaml.Unmarshal(o.Data, &doc); err != nil {
		l.Report.Entries = append(l.Report.Entries, yamlError(o.Source, err))
		return false
	}
	var rep Report
	pos := checkSchema(o.Source, &doc, reflect.TypeOf(Recipe{}), &rep)
	if o.Generated {
		for p := range pos.paths {
			pos.paths[p] = Pos{File: o.Source}
		}
	}
	l.overlays = append(l.overlays, pos)
	for i := range rep.Entries {
		if rep.Entries[i].Pos.File == "" {
			rep.Entries[i].Pos.File = o.Source
		}
	}
	l.Report.Merge(rep)
	if rep.IsFatal() {
		return false
	}
	if err := k8syaml.Unmarshal(o.Data, r); err != nil {
		l.Report.Entries = append(l.Report.Entries, Entry{Message: err.Error(), Pos: Pos{File: o.Source}})
		return false
	}
	applyModes(r, pos.modes)
	return true
}

// pruned reports whether path, or a field above it, was dropped from the
// recipe or an overlay for its shape.
func (l *Loaded) pruned(path string) bool {
	if l.pos.underPruned(path) {
		return true
	}
	for _, o := range l.overlays {
		if o.underPruned(path) {
			return true
		}
	}
	return false
}

// finish places every entry at its position and sorts the report.
func (l *Loaded) finish() (*Loaded, error) {
	for i := range l.Report.Entries {
		e := &l.Report.Entries[i]
		if e.Pos.File != "" {
			continue
		}
		e.Pos = l.position(e.Path)
	}
	l.Report.Sort()
	if l.Report.IsFatal() {
		return l, &InvalidError{Report: l.Report}
	}
	return l, nil
}

// position finds where path stands: in the last overlay that sets it, else
// in the user's document, else at its `from` line, else at its nearest
// parent.
func (l *Loaded) position(path string) Pos {
	for i := len(l.overlays) - 1; i >= 0; i-- {
		if p, ok := l.overlays[i].setting(path); ok {
			return p
		}
	}
	if p, ok := l.pos.paths[path]; ok {
		return p
	}
	for _, b := range l.bases {
		if p, ok := b.pos.paths[path]; ok {
			if b.builtin {
				return b.fromPos
			}
			return p
		}
	}
	if p, ok := l.pos.lookup(path); ok {
		return p
	}
	return Pos{File: l.Source, Line: 1, Column: 1}
}

var yamlLineRE = regexp.MustCompile(`line (\d+)`)

// yamlError turns a YAML syntax error into a report entry with its line.
func yamlError(source string, err error) Entry {
	e := Entry{Message: strings.TrimPrefix(err.Error(), "yaml: "), Pos: Pos{File: source}}
	if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
		e.Pos.Line, _ = strconv.Atoi(m[1])
		e.Pos.Column = 1
		e.Message = strings.TrimPrefix(e.Message, m[0]+": ")
	}
	if errors.Is(err, io.EOF) || strings.Contains(err.Error(), "EOF") {
		e.Message = "empty document: a recipe needs apiVersion, kind, base and runtime"
		e.Pos.Line, e.Pos.Column = 1, 1
	}
	return e
}

func defaultName(source string) string {
	base := strings.TrimPrefix(source, "builtin:")
	base = filepath.Base(base)
	return strings.TrimSuffix(strings.TrimSuffix(base, ".yaml"), ".yml")
}
