package nodeconfig

import (
	"bytes"
	"fmt"
	"strings"

	"sigs.k8s.io/yaml"
)

// Decode decodes one NodeConfig document strictly: unknown fields are
// errors.
func Decode(data []byte) (*NodeConfig, error) {
	var c NodeConfig
	if err := yaml.UnmarshalStrict(data, &c); err != nil {
		return nil, fmt.Errorf("decode NodeConfig: %s", cleanYAMLError(err))
	}
	return &c, nil
}

// MergeInto decodes a drop-in document on top of c: the fields it sets
// replace c's (lists replace, maps merge). Unknown fields are errors.
func MergeInto(c *NodeConfig, data []byte) error {
	if err := yaml.UnmarshalStrict(data, c); err != nil {
		return fmt.Errorf("decode NodeConfig drop-in: %s", cleanYAMLError(err))
	}
	return nil
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
