package firstboot_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/kubebake/kubebake/firstboot"
)

func TestRedactor(t *testing.T) {
	t.Parallel()
	var r firstboot.Redactor
	r.Add(cfgCertKey, "", "short")
	tests := []struct {
		name string
		in   string
		want string
	}{
		{name: "registered secret", in: "key " + cfgCertKey + " end", want: "key <redacted> end"},
		{name: "any token", in: "--token " + printedToken + " \\", want: "--token <redacted-token> \\"},
		{name: "certificate key flag", in: "--certificate-key " + printedCertKey, want: "--certificate-key <redacted>"},
		{name: "certificate key flag with =", in: "--certificate-key=" + printedCertKey, want: "--certificate-key=<redacted>"},
		{name: "short values are not secrets", in: "short", want: "short"},
		{name: "CA hash stays", in: caHash, want: caHash},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tc.want, r.String(tc.in))
		})
	}
}
