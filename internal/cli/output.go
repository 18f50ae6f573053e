package cli

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"
)

// Output formats of -o/--output: every command that reports a result
// takes them, as kubectl's commands do.
const (
	// Text is for people (the default).
	Text = "text"
	// JSON is one indented JSON document.
	JSON = "json"
	// YAML is one YAML document with the JSON form's field names.
	YAML = "yaml"
)

// Formats lists the output formats, default first.
func Formats() []string { return []string{Text, JSON, YAML} }

// OutputFlag adds -o/--output (default text) to cmd and completes its
// values.
func OutputFlag(cmd *cobra.Command, format *string) {
	cmd.Flags().StringVarP(format, "output", "o", Text, "output format: text, json or yaml")
	_ = cmd.RegisterFlagCompletionFunc("output", CompleteValues(Formats()...))
}

// DestFlag adds -d/--dest, where a command writes what it makes, to cmd.
// ext, when set, is the file extension completion offers; without it the
// destination is a directory.
func DestFlag(cmd *cobra.Command, dest *string, ext, usage string) {
	cmd.Flags().StringVarP(dest, "dest", "d", "", usage)
	if ext == "" {
		_ = cmd.MarkFlagDirname("dest")
	} else {
		_ = cmd.MarkFlagFilename("dest", ext)
	}
}

// CheckOutput validates an -o value: a usage error names the value and the
// formats. hasDest says the command writes to --dest, which -o was before
// it meant a format, so a path given to -o is pointed there.
func CheckOutput(format string, hasDest bool) error {
	for _, f := range Formats() {
		if format == f {
			return nil
		}
	}
	err := fmt.Errorf("-o %q: unknown output format (want text, json or yaml)", format)
	if hasDest {
		err = fmt.Errorf("%w; the output path is --dest", err)
	}
	return Usage(err)
}

// Print writes result to w in format: JSON (indented) or YAML (the same
// field names, through sigs.k8s.io/yaml) as one document, or, for text,
// what text writes.
func Print(w io.Writer, format string, result any, text func(io.Writer) error) error {
	switch format {
	case JSON:
		b, err := json.MarshalIndent(result, "", "  ")
		if err != nil {
			return fmt.Errorf("encode the result as JSON: %w", err)
		}
		_, err = w.Write(append(b, '\n'))
		return err
	case YAML:
		b, err := yaml.Marshal(result)
		if err != nil {
			return fmt.Errorf("encode the result as YAML: %w", err)
		}
		_, err = w.Write(b)
		return err
	case Text, "":
		return text(w)
	}
	return CheckOutput(format, false)
}
