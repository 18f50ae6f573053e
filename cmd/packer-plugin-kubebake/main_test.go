package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestPluginVersion(t *testing.T) {
	tests := []struct{ in, core, pre, meta string }{
		{"v1.2.3", "1.2.3", "", ""},
		{"1.2.3-rc.1", "1.2.3", "rc.1", ""},
		{"v0.4.0+abc", "0.4.0", "", ""},
		{"dev", "0.0.0", "dev", ""},
		{"5ebae66-dirty", "0.0.0", "dev", ""},
		{"v0.1.0-3-g5ebae66", "0.1.0", "3-g5ebae66", ""},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			core, pre, meta := pluginVersion(tc.in)
			assert.Equal(t, []string{tc.core, tc.pre, tc.meta}, []string{core, pre, meta})
		})
	}
}
