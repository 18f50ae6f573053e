package userdata

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"

	"github.com/kubebake/kubebake/firstboot/nodeconfig"
	"github.com/kubebake/kubebake/recipes"
)

// CheckReport decodes and validates a NodeConfig as the node would, with
// the image's Kubernetes version standing in where the config leaves it to
// the image, and reports every problem at its FILE:LINE:COL and field path,
// as recipe problems are reported.
func CheckReport(source string, doc []byte, imageVersion string) recipes.Report {
	var rep recipes.Report
	pos := nodePositions(source, doc)
	add := func(path, msg string, at recipes.Pos) {
		rep.Entries = append(rep.Entries, recipes.Entry{Severity: recipes.SeverityError, Path: path, Message: msg, Pos: at})
	}
	c, err := nodeconfig.Decode(doc)
	if err != nil {
		msg := strings.TrimPrefix(err.Error(), "decode NodeConfig: ")
		add("", msg, pos.forDecodeError(msg))
		return rep
	}
	if err := nodeconfig.SetDefaults(c, nodeconfig.Env{KubernetesVersion: imageVersion, Hostname: "node"}); err != nil {
		add("", err.Error(), recipes.Pos{File: source})
		return rep
	}
	var invalid *nodeconfig.InvalidError
	if err := nodeconfig.Validate(c); errors.As(err, &invalid) {
		for _, fe := range invalid.Errors {
			add(fe.Path, fe.Message, pos.of(fe.Path))
		}
	} else if err != nil {
		add("", err.Error(), recipes.Pos{File: source})
	}
	rep.Sort()
	return rep
}

// docPositions are the positions of a document's fields, by path (a.b,
// a[key], a[0]).
type docPositions struct {
	file  string
	paths map[string]recipes.Pos
	keys  map[string]recipes.Pos // the first key of each name
	line  int                    // a syntax error's line, 0 when it parses
}

var lineRE = regexp.MustCompile(`line (\d+)`)

// nodePositions reads where each field of doc stands.
func nodePositions(file string, doc []byte) docPositions {
	p := docPositions{file: file, paths: map[string]recipes.Pos{}, keys: map[string]recipes.Pos{}}
	var root yaml.Node
	if err := yaml.Unmarshal(doc, &root); err != nil {
		if m := lineRE.FindStringSubmatch(err.Error()); m != nil {
			p.line, _ = strconv.Atoi(m[1])
		}
		return p
	}
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		p.walk("", root.Content[0])
	}
	return p
}

func (p docPositions) walk(path string, n *yaml.Node) {
	at := func(n *yaml.Node) recipes.Pos { return recipes.Pos{File: p.file, Line: n.Line, Column: n.Column} }
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if _, ok := p.keys[k.Value]; !ok {
				p.keys[k.Value] = at(k)
			}
			dotted := k.Value
			if path != "" {
				dotted = path + "." + k.Value
				p.paths[path+"["+k.Value+"]"] = at(v)
			}
			p.paths[dotted] = at(v)
			p.walk(dotted, v)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			q := fmt.Sprintf("%s[%d]", path, i)
			p.paths[q] = at(c)
			p.walk(q, c)
		}
	}
}

// of is where path stands, or its nearest parent, or the document.
func (p docPositions) of(path string) recipes.Pos {
	for q := path; q != ""; {
		if pos, ok := p.paths[q]; ok {
			return pos
		}
		i := strings.LastIndexAny(q, ".[")
		if i < 0 {
			break
		}
		q = q[:i]
	}
	return recipes.Pos{File: p.file, Line: 1, Column: 1}
}

var unknownFieldRE = regexp.MustCompile(`unknown field "([^"]+)"`)

// forDecodeError places a decode error: a syntax error at its line, an
// unknown field at its key.
func (p docPositions) forDecodeError(msg string) recipes.Pos {
	if m := lineRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return recipes.Pos{File: p.file, Line: line, Column: 1}
	}
	if p.line > 0 {
		return recipes.Pos{File: p.file, Line: p.line, Column: 1}
	}
	if m := unknownFieldRE.FindStringSubmatch(msg); m != nil {
		name := m[1]
		if i := strings.LastIndex(name, "."); i >= 0 {
			name = name[i+1:]
		}
		if pos, ok := p.keys[name]; ok {
			return pos
		}
	}
	return recipes.Pos{File: p.file}
}
