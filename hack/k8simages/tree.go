package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// treeEntries lists the directories, regular files and symbolic links under
// dir as layer entries, in walk order.
func treeEntries(dir string) ([]layerEntry, error) {
	var out []layerEntry
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil || rel == "." {
			return err
		}
		rel = filepath.ToSlash(rel)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		mode := int64(fi.Mode().Perm())
		switch {
		case fi.IsDir():
			out = append(out, layerEntry{name: rel + "/", mode: mode})
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			out = append(out, layerEntry{name: rel, mode: 0o777, link: target})
		case fi.Mode().IsRegular():
			out = append(out, layerEntry{name: rel, mode: mode, source: p})
		default:
			return fmt.Errorf("tree %s: %s is neither a directory, a regular file nor a symbolic link", dir, rel)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("tree %s: %w", dir, err)
	}
	return out, nil
}

// mergeTree adds the entries of the directory tree to entries; a directory
// may be there already, a file or link may not.
func mergeTree(entries map[string]layerEntry, tree string) error {
	list, err := treeEntries(tree)
	if err != nil {
		return err
	}
	for _, e := range list {
		if old, dup := entries[e.name]; dup && !strings.HasSuffix(e.name, "/") {
			return fmt.Errorf("tree %s: %q is also %s", tree, e.name, describe(old))
		}
		entries[e.name] = e
	}
	return nil
}
