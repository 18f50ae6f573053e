package firstboot

import (
	"regexp"
	"strings"
	"sync"
)

// tokenRE matches bootstrap tokens; certKeyFlagRE the certificate key flag
// kubeadm prints in its join command.
var (
	tokenRE       = regexp.MustCompile(`\b[a-z0-9]{6}\.[a-z0-9]{16}\b`)
	certKeyFlagRE = regexp.MustCompile(`(--certificate-key[ =])[a-f0-9]{64}`)
)

// Redactor removes secrets from text: the values it was told about, and
// anything shaped like a bootstrap token or a certificate key flag.
type Redactor struct {
	mu      sync.Mutex
	secrets []string
}

// Add registers secret values.
func (r *Redactor) Add(secrets ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range secrets {
		if len(s) >= 6 {
			r.secrets = append(r.secrets, s)
		}
	}
}

// AddPEM registers a PEM document (a private key) as a secret: the whole
// of it and each line of its body, so no part of it shows in a log.
func (r *Redactor) AddPEM(doc string) {
	if strings.TrimSpace(doc) == "" {
		return
	}
	r.Add(doc)
	for _, line := range strings.Split(doc, "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "-----") {
			r.Add(line)
		}
	}
}

// String redacts s.
func (r *Redactor) String(s string) string {
	r.mu.Lock()
	secrets := append([]string{}, r.secrets...)
	r.mu.Unlock()
	for _, sec := range secrets {
		s = strings.ReplaceAll(s, sec, "<redacted>")
	}
	s = tokenRE.ReplaceAllString(s, "<redacted-token>")
	return certKeyFlagRE.ReplaceAllString(s, "${1}<redacted>")
}
