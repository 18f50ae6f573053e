package shell_test

import (
	"os/exec"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubebake/kubebake/internal/shell"
)

func TestQuote(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, in, want string
	}{
		{name: "plain", in: "debootstrap", want: "debootstrap"},
		{name: "option", in: "--include=a,b+c", want: "--include=a,b+c"},
		{name: "path", in: "/var/tmp/x.tgz", want: "/var/tmp/x.tgz"},
		{name: "empty", in: "", want: "''"},
		{name: "space", in: "a b", want: "'a b'"},
		{name: "quote", in: "it's", want: `'it'\''s'`},
		{name: "dollar", in: "$HOME", want: "'$HOME'"},
		{name: "percent", in: "100%", want: "'100%'"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tc.want, shell.Quote(tc.in))
		})
	}
	assert.Equal(t, "a 'b c' ''", shell.Join([]string{"a", "b c", ""}))
}

// TestQuoteRoundTrip has bash read every quoted word back unchanged.
func TestQuoteRoundTrip(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash not found")
	}
	values := []string{
		"", "plain", "$(reboot)", "`reboot`", "x; reboot", "a'b", `a"b`, "a\nb", "${IFS}", "*", "~root", "-n", "!x", "a\\b", "'", "''",
	}
	for _, v := range values {
		out, err := exec.Command("bash", "-c", "printf %s "+shell.Quote(v)).Output()
		require.NoError(t, err, v)
		assert.Equal(t, v, string(out), "quoted as %s", shell.Quote(v))
	}
}
