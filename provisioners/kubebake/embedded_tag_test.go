//go:build kubebake_embed

package kubebake

const embeddedBuild = true
