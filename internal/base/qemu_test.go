package base

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestConvertArgs(t *testing.T) {
	t.Parallel()
	assert.Equal(t, []string{"convert", "-f", "raw", "-O", "qcow2", "-c", "/w/disk.raw", "/out/.x.qcow2.1.tmp"},
		convertArgs("/w/disk.raw", "/out/.x.qcow2.1.tmp"))
}
