// Package archtest holds tests of the repository's shape: which packages
// may import which, and how large a file may grow. It has no code of its
// own.
package archtest
