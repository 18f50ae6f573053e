package test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/kubebake/kubebake/internal/cli"
	"github.com/kubebake/kubebake/internal/imagetest"
)

// TestPrint: the report as a table, one JSON document or one YAML
// document with the same field names; a failed check ends with exit 1
// after the report is printed.
func TestPrint(t *testing.T) {
	t.Parallel()
	report := func(passed bool) *imagetest.Report {
		return &imagetest.Report{Image: "out/x.qcow2", Accel: "tcg", Passed: passed, BootSeconds: 61,
			Checks: []imagetest.Check{{Name: "swap", Where: "guest", Passed: true, Detail: "off"}, {Name: "kubelet", Where: "guest", Passed: passed, Detail: "v1.36.3"}}}
	}
	cases := []struct {
		name   string
		format string
		passed bool
		check  func(t *testing.T, out []byte)
	}{
		{name: "text", format: cli.Text, passed: true, check: func(t *testing.T, out []byte) {
			assert.Contains(t, string(out), "CHECK    WHERE  RESULT  DETAIL\nswap     guest  PASS    off\n")
			assert.Contains(t, string(out), "2 checks, 0 failed; accelerator tcg; boot to checks done 61s\n")
		}},
		{name: "json, failed", format: cli.JSON, check: func(t *testing.T, out []byte) {
			dec := json.NewDecoder(bytes.NewReader(out))
			var got imagetest.Report
			require.NoError(t, dec.Decode(&got))
			assert.Equal(t, *report(false), got)
			assert.False(t, dec.More())
		}},
		{name: "yaml", format: cli.YAML, passed: true, check: func(t *testing.T, out []byte) {
			var got imagetest.Report
			require.NoError(t, yaml.UnmarshalStrict(out, &got), string(out))
			assert.Equal(t, *report(true), got)
			assert.Contains(t, string(out), "bootToChecksSeconds: 61\n")
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			err := Print(&out, report(tc.passed), tc.format)
			if tc.passed {
				require.NoError(t, err)
			} else {
				var exit *cli.ExitError
				require.ErrorAs(t, err, &exit)
				assert.Equal(t, 1, exit.Code)
				assert.EqualError(t, err, "out/x.qcow2 failed its checks")
			}
			tc.check(t, out.Bytes())
		})
	}
}
