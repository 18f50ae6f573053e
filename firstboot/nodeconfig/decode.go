package nodeconfig

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"sigs.k8s.io/yaml"
)

// MaxSize bounds a NodeConfig document and each drop-in: a node's
// configuration, with a CA and its key, is a few KiB.
const MaxSize = 1 << 20

// Decode decodes one NodeConfig document strictly: unknown fields are
// errors.
func Decode(data []byte) (*NodeConfig, error) {
	if len(data) > MaxSize {
		return nil, fmt.Errorf("decode NodeConfig: %d bytes, more than the limit of %d", len(data), MaxSize)
	}
	var c NodeConfig
	if err := yaml.UnmarshalStrict(data, &c); err != nil {
		return nil, fmt.Errorf("decode NodeConfig: %s", cleanYAMLError(err))
	}
	return &c, nil
}

// MergeInto decodes a drop-in document on top of c: the fields it sets
// replace c's (lists replace, maps merge). Unknown fields are errors.
func MergeInto(c *NodeConfig, data []byte) error {
	if len(data) > MaxSize {
		return fmt.Errorf("decode NodeConfig drop-in: %d bytes, more than the limit of %d", len(data), MaxSize)
	}
	// node.kubelet is a map kept as raw JSON, which decoding would replace
	// whole (and may overwrite in place): keep a copy to merge it.
	kubelet := append(json.RawMessage(nil), c.Node.Kubelet...)
	if err := yaml.UnmarshalStrict(data, c); err != nil {
		return fmt.Errorf("decode NodeConfig drop-in: %s", cleanYAMLError(err))
	}
	if len(kubelet) > 0 && len(c.Node.Kubelet) > 0 {
		var base, over any
		if decodeJSON(kubelet, &base) == nil && decodeJSON(c.Node.Kubelet, &over) == nil {
			merged, err := json.Marshal(mergeMaps(base, over))
			if err != nil {
				return fmt.Errorf("decode NodeConfig drop-in: node.kubelet: %v", err)
			}
			c.Node.Kubelet = merged
		}
	}
	return nil
}

// decodeJSON decodes keeping numbers as they are written.
func decodeJSON(data []byte, v *any) error {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	return d.Decode(v)
}

// mergeMaps merges over into base when both are mappings, recursively;
// otherwise over replaces base.
func mergeMaps(base, over any) any {
	b, ok1 := base.(map[string]any)
	o, ok2 := over.(map[string]any)
	if !ok1 || !ok2 {
		return over
	}
	for k, v := range o {
		b[k] = mergeMaps(b[k], v)
	}
	return b
}

// LooksLike reports whether data is a NodeConfig document (apiVersion and
// kind at the top level), without decoding it strictly.
func LooksLike(data []byte) bool {
	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if !bytes.Contains(data, []byte(Kind)) {
		return false
	}
	if err := yaml.Unmarshal(data, &head); err != nil {
		return false
	}
	return head.APIVersion == APIVersion && head.Kind == Kind
}

// cleanYAMLError shortens the errors of sigs.k8s.io/yaml's JSON step.
func cleanYAMLError(err error) string {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "error unmarshaling JSON: while decoding JSON: ")
	msg = strings.TrimPrefix(msg, "error converting YAML to JSON: ")
	msg = strings.ReplaceAll(msg, "json: ", "")
	return msg
}

// The top-level apiVersion and kind lines of a NodeConfig, read as text.
var (
	apiVersionLineRE = regexp.MustCompile(`(?m)^apiVersion:[ \t]*["']?` + regexp.QuoteMeta(APIVersion) + `["']?[ \t]*\r?$`)
	kindLineRE       = regexp.MustCompile(`(?m)^kind:[ \t]*["']?` + Kind + `["']?[ \t]*\r?$`)
)

// DeclaresKind reports whether data has a top-level "kind: NodeConfig"
// line, whether or not it parses: what kubebake validate routes by.
func DeclaresKind(data []byte) bool { return kindLineRE.Match(data) }

// Declares reports whether data says it is a NodeConfig by its top-level
// apiVersion and kind lines, whether or not it parses: user data that
// does is ours, and an error in it fails the node.
func Declares(data []byte) bool { return apiVersionLineRE.Match(data) && kindLineRE.Match(data) }
