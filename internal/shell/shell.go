// Package shell quotes words for bash: the one quoter of rendered step
// scripts, command lines shown to users, and the scripts kubebake runs on
// a target.
package shell

import "strings"

// safe are the characters a word may hold and still need no quotes.
const safe = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./:=@,+-"

// Quote returns s as one bash word that bash never expands: unchanged when
// it holds only safe characters, single-quoted otherwise (” for empty).
func Quote(s string) string {
	if s != "" && strings.Trim(s, safe) == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Join quotes each word and joins them with spaces.
func Join(words []string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = Quote(w)
	}
	return strings.Join(q, " ")
}
