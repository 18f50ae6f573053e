package cli_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"testing"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/kubebake/kubebake/internal/cli"
)

func TestCheckOutput(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		format  string
		hasDest bool
		err     string
	}{
		{name: "text", format: "text"},
		{name: "json", format: "json", hasDest: true},
		{name: "yaml", format: "yaml"},
		{name: "unknown", format: "xml", err: `-o "xml": unknown output format (want text, json or yaml)`},
		{name: "a path where --dest is", format: "out/", hasDest: true,
			err: `-o "out/": unknown output format (want text, json or yaml); the output path is --dest`},
		{name: "empty", format: "", err: `-o "": unknown output format (want text, json or yaml)`},
		{name: "case matters", format: "JSON", err: `-o "JSON": unknown output format (want text, json or yaml)`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := cli.CheckOutput(tc.format, tc.hasDest)
			if tc.err == "" {
				require.NoError(t, err)
				return
			}
			require.EqualError(t, err, tc.err)
			assert.True(t, cli.IsUsage(err), "a usage error (exit 2)")
		})
	}
}

// sample is a result with nested and tagged fields.
type sample struct {
	Name   string            `json:"name"`
	Size   int64             `json:"size"`
	Labels map[string]string `json:"labels,omitempty"`
	Items  []string          `json:"items"`
}

func TestPrint(t *testing.T) {
	t.Parallel()
	v := sample{Name: "debian-13", Size: 42, Labels: map[string]string{"a": "b"}, Items: []string{"x", "y: z"}}
	text := func(w io.Writer) error { _, err := io.WriteString(w, "debian-13 (42 bytes)\n"); return err }
	cases := []struct {
		name   string
		format string
		check  func(t *testing.T, out []byte)
	}{
		{name: "text", format: cli.Text, check: func(t *testing.T, out []byte) {
			assert.Equal(t, "debian-13 (42 bytes)\n", string(out))
		}},
		{name: "json is one indented document", format: cli.JSON, check: func(t *testing.T, out []byte) {
			assert.Equal(t, "{\n  \"name\": \"debian-13\",\n  \"size\": 42,\n  \"labels\": {\n    \"a\": \"b\"\n  },\n  \"items\": [\n    \"x\",\n    \"y: z\"\n  ]\n}\n", string(out))
			dec := json.NewDecoder(bytes.NewReader(out))
			var got sample
			require.NoError(t, dec.Decode(&got))
			assert.Equal(t, v, got)
			assert.False(t, dec.More())
		}},
		{name: "yaml has the json field names", format: cli.YAML, check: func(t *testing.T, out []byte) {
			assert.Equal(t, "items:\n- x\n- 'y: z'\nlabels:\n  a: b\nname: debian-13\nsize: 42\n", string(out))
			var got sample
			require.NoError(t, yaml.UnmarshalStrict(out, &got))
			assert.Equal(t, v, got)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			require.NoError(t, cli.Print(&out, tc.format, v, text))
			tc.check(t, out.Bytes())
		})
	}
}

func TestPrintErrors(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	err := cli.Print(&out, "xml", sample{}, nil)
	assert.True(t, cli.IsUsage(err))
	assert.EqualError(t, err, `-o "xml": unknown output format (want text, json or yaml)`)
	err = cli.Print(&out, cli.JSON, map[string]any{"f": func() {}}, nil)
	assert.ErrorContains(t, err, "encode the result as JSON")
	err = cli.Print(&out, cli.YAML, map[string]any{"f": func() {}}, nil)
	assert.ErrorContains(t, err, "encode the result as YAML")
	assert.Empty(t, out.String(), "nothing half-printed")
	boom := errors.New("boom")
	assert.ErrorIs(t, cli.Print(&out, cli.Text, sample{}, func(io.Writer) error { return boom }), boom)
}

// TestOutputAndDestFlags: -o defaults to text and completes its values;
// -d is --dest.
func TestOutputAndDestFlags(t *testing.T) {
	t.Parallel()
	var format, dest string
	cmd := &cobra.Command{Use: "x", RunE: func(*cobra.Command, []string) error { return nil }}
	cli.OutputFlag(cmd, &format)
	cli.DestFlag(cmd, &dest, "iso", "seed ISO to write")
	require.NoError(t, cmd.ParseFlags([]string{"-d", "seed.iso"}))
	assert.Equal(t, "text", format)
	assert.Equal(t, "seed.iso", dest)
	require.NoError(t, cmd.ParseFlags([]string{"-o", "yaml", "--dest", "b.iso"}))
	assert.Equal(t, "yaml", format)
	assert.Equal(t, "b.iso", dest)
	complete, ok := cmd.GetFlagCompletionFunc("output")
	require.True(t, ok)
	values, directive := complete(cmd, nil, "")
	assert.Equal(t, []cobra.Completion{"text", "json", "yaml"}, values)
	assert.Equal(t, cobra.ShellCompDirectiveNoFileComp, directive)
	assert.Equal(t, []string{"iso"}, cmd.Flags().Lookup("dest").Annotations[cobra.BashCompFilenameExt])
}
