package recipes

import (
	"regexp"
	"strconv"
	"strings"

	yamlv2 "go.yaml.in/yaml/v2"
	yaml "go.yaml.in/yaml/v3"
)

// octalModeRE is a file mode written as an unquoted octal number: YAML 1.1
// (0644) or YAML 1.2 (0o644).
var octalModeRE = regexp.MustCompile(`^0o?([0-7]{3,4})$`)

// plainString checks an unquoted scalar given for a string field. The
// recipe decoder reads YAML 1.1, where 0644 is the octal number 420,
// 1.30 the float 1.3 and on the boolean true, and a string field then
// holds "420", "1.3" or "true": never what the person wrote. Such a value
// is refused with its path, except a file mode written as an octal
// number, which means what a person means by it (0644, 0o644).
func (w schemaWalker) plainString(path string, n *yaml.Node) {
	if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		return
	}
	read, ok := readAsYAML11(n.Value)
	if !ok || read == n.Value {
		return
	}
	if strings.HasSuffix(path, ".mode") && strings.HasPrefix(path, "node.files[") {
		if m := octalModeRE.FindStringSubmatch(n.Value); m != nil {
			mode := m[1]
			if len(mode) == 3 {
				mode = "0" + mode
			}
			w.modes[path] = mode
			return
		}
	}
	w.errorf(n, path, "%s is read as %q by YAML; quote it (\"%s\") to mean the text", n.Value, read, n.Value)
}

// readAsYAML11 is the string a string field holds for the plain scalar s
// after the recipe decoder (sigs.k8s.io/yaml over YAML 1.1): numbers and
// booleans are formatted back, null leaves the field empty. ok is false
// when s does not decode on its own.
func readAsYAML11(s string) (string, bool) {
	var doc map[string]any
	if err := yamlv2.Unmarshal([]byte("v: "+s), &doc); err != nil {
		return "", false
	}
	switch x := doc["v"].(type) {
	case nil:
		return "", true
	case string:
		return x, true
	case int:
		return strconv.FormatInt(int64(x), 10), true
	case int64:
		return strconv.FormatInt(x, 10), true
	case uint64:
		return strconv.FormatUint(x, 10), true
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 32), true
	case bool:
		return strconv.FormatBool(x), true
	}
	return "", false
}

// applyModes sets the file modes written as octal numbers to what their
// author meant.
func applyModes(r *Recipe, modes map[string]string) {
	for path, mode := range modes {
		i, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(path, "node.files["), "].mode"))
		if err == nil && i >= 0 && i < len(r.Node.Files) {
			r.Node.Files[i].Mode = mode
		}
	}
}
