package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
)

// formatVersion is part of every stamp: bump it when the image layout or the
// archive format changes, so cached archives are rebuilt.
const formatVersion = "k8simages/1"

// stamp records what an archive was built from.
type stamp struct {
	Inputs string `json:"inputs"`
	Entry  Entry  `json:"entry"`
}

// Make writes outDir/NAME.tar for s, unless a stamp says an identical one is
// there. cached reports which.
func Make(s Spec, outDir string, created time.Time) (e Entry, cached bool, err error) {
	tag, err := name.NewTag(s.Ref, name.StrictValidation)
	if err != nil {
		return Entry{}, false, err
	}
	outDir, err = filepath.Abs(outDir)
	if err != nil {
		return Entry{}, false, err
	}
	base := path.Base(tag.RepositoryStr())
	file := filepath.Join(outDir, base+".tar")
	stampFile := filepath.Join(outDir, "."+base+".stamp")

	inputs, err := inputsHash(s, created)
	if err != nil {
		return Entry{}, false, err
	}
	if b, err := os.ReadFile(stampFile); err == nil {
		var st stamp
		if json.Unmarshal(b, &st) == nil && st.Inputs == inputs && st.Entry.File == file {
			if fi, err := os.Stat(file); err == nil && fi.Size() == st.Entry.Size {
				return st.Entry, true, nil
			}
		}
	}

	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return Entry{}, false, err
	}
	layerFile, err := writeLayer(s, outDir, created)
	if err != nil {
		return Entry{}, false, fmt.Errorf("%s: layer: %w", s.Ref, err)
	}
	defer func() { _ = os.Remove(layerFile) }()
	img, err := Image(s, layerFile, created)
	if err != nil {
		return Entry{}, false, fmt.Errorf("%s: %w", s.Ref, err)
	}
	size, err := WriteArchive(file, tag, img)
	if err != nil {
		return Entry{}, false, fmt.Errorf("%s: %w", s.Ref, err)
	}
	dgst, err := img.Digest()
	if err != nil {
		return Entry{}, false, err
	}
	cfgName, err := img.ConfigName()
	if err != nil {
		return Entry{}, false, err
	}
	layers, err := img.Layers()
	if err != nil {
		return Entry{}, false, err
	}
	layerSize, err := layers[0].Size()
	if err != nil {
		return Entry{}, false, err
	}
	e = Entry{
		Name:      tag.Context().Name(),
		Tag:       tag.TagStr(),
		Ref:       tag.String(),
		File:      file,
		Digest:    dgst.String(),
		Size:      size,
		ImageID:   cfgName.String(),
		LayerSize: layerSize,
		Files:     s.Files,
	}
	b, err := json.MarshalIndent(stamp{Inputs: inputs, Entry: e}, "", "  ")
	if err != nil {
		return Entry{}, false, err
	}
	if err := writeFileAtomic(stampFile, append(b, '\n')); err != nil {
		return Entry{}, false, err
	}
	return e, false, nil
}

// inputsHash hashes everything an archive depends on.
func inputsHash(s Spec, created time.Time) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%s\nref %s\ncreated %d\nentrypoint %q\nuser %q\nenv %q\n", formatVersion, s.Ref, created.Unix(), s.Entrypoint, s.User, pathEnv)
	for _, f := range s.Files {
		sum, err := fileSHA256(f.Source)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "file %s %s\n", f.Path, sum)
	}
	if s.Tree != "" {
		entries, err := treeEntries(s.Tree)
		if err != nil {
			return "", err
		}
		for _, e := range entries {
			sum := e.link
			if e.source != "" {
				if sum, err = fileSHA256(e.source); err != nil {
					return "", err
				}
			}
			fmt.Fprintf(h, "tree %s %o %s\n", e.name, e.mode, sum)
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func fileSHA256(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer func() { _ = f.Close() }()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("%s: %w", p, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func writeFileAtomic(file string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(file), "."+filepath.Base(file)+".*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		_ = tmp.Close()
		_ = os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		_ = os.Remove(tmp.Name())
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		_ = os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), file)
}
