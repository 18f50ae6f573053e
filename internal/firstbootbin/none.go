//go:build !kubebake_embed

package firstbootbin

func embedded(string) ([]byte, bool) { return nil, false }
