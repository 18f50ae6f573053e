// Package source finds the NodeConfig of a first boot: an explicit file,
// cloud-init user data (a MIME part of its own type, a raw NodeConfig, or a
// #cloud-config that writes /etc/kubebake/node.yaml), EC2 IMDSv2 user data,
// or the file Ignition wrote. The first source that has one wins. What
// declares a NodeConfig but is broken is an error, never "none"; what is
// not ours is left to cloud-init, however odd.
package source

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/kubebake/kubebake/firstboot/nodeconfig"
)

// MediaType is the MIME type of a NodeConfig part in multipart user data.
const MediaType = "application/vnd.kubebake.node+yaml"

// NodeConfigPath is where cloud-init's write_files or Ignition put the
// NodeConfig.
const NodeConfigPath = "/etc/kubebake/node.yaml"

// maxUserData bounds what is read of user data (EC2 allows 16 KiB; cloud
// providers up to a few MiB).
const maxUserData = 16 << 20

// FromUserData extracts a NodeConfig document from cloud-init user data.
// ok is false when the user data holds none. The user data may be gzipped.
//
// It fails closed on what is ours and leaves the rest to cloud-init: user
// data that declares a NodeConfig (its apiVersion and kind, a part of
// MediaType, a write_files entry for NodeConfigPath) is returned, or is an
// error, even when it does not parse, so a broken NodeConfig is a failure,
// never "no NodeConfig"; a part that is not ours (no or an odd
// Content-Type, bad base64, a #cloud-config that does not write
// NodeConfigPath) is skipped whatever its state.
func FromUserData(data []byte) (doc []byte, ok bool, err error) {
	data, err = gunzip(data)
	if err != nil {
		return nil, false, err
	}
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	switch {
	case len(trimmed) == 0:
		return nil, false, nil
	case isMIME(trimmed):
		return fromMIME(trimmed, 0)
	case isCloudConfig(trimmed):
		return fromCloudConfig(trimmed)
	case nodeconfig.LooksLike(trimmed) || nodeconfig.Declares(trimmed):
		return trimmed, true, nil
	}
	return nil, false, nil
}

// mentionsNodeConfig reports whether data names a NodeConfig in any of the
// ways user data carries one: it is then ours, and an error in it fails
// the node.
func mentionsNodeConfig(data []byte) bool {
	return bytes.Contains(data, []byte(MediaType)) || bytes.Contains(data, []byte(NodeConfigPath)) || nodeconfig.Declares(data)
}

// oursOrNone returns err when data is ours, and no NodeConfig otherwise.
func oursOrNone(data []byte, err error) ([]byte, bool, error) {
	if mentionsNodeConfig(data) {
		return nil, false, err
	}
	return nil, false, nil
}

func gunzip(data []byte) ([]byte, error) {
	if len(data) < 2 || data[0] != 0x1f || data[1] != 0x8b {
		return data, nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("gzipped user data: %w", err)
	}
	defer zr.Close()
	out, err := io.ReadAll(io.LimitReader(zr, maxUserData+1))
	if err != nil {
		return nil, fmt.Errorf("gzipped user data: %w", err)
	}
	if len(out) > maxUserData {
		return nil, fmt.Errorf("gzipped user data: more than the limit of %d bytes once decompressed", maxUserData)
	}
	return out, nil
}

// isCloudConfig reports whether data starts with the #cloud-config header,
// not that of cloud-init's #cloud-config-archive or #cloud-config-jsonp.
func isCloudConfig(data []byte) bool {
	return bytes.HasPrefix(data, []byte("#cloud-config")) && !bytes.HasPrefix(data, []byte("#cloud-config-"))
}

// isMIME reports whether data starts with MIME headers naming a
// Content-Type.
func isMIME(data []byte) bool {
	firstLine, _, _ := bytes.Cut(data, []byte("\n"))
	l := strings.ToLower(string(firstLine))
	return strings.HasPrefix(l, "content-type:") || strings.HasPrefix(l, "mime-version:")
}

// maxDepth bounds the nesting of multipart user data.
const maxDepth = 4

// fromMIME walks a MIME message (nested multiparts too) for a part of
// MediaType, or a cloud-config part that writes the NodeConfig.
func fromMIME(data []byte, depth int) ([]byte, bool, error) {
	msg, err := mail.ReadMessage(bufio.NewReader(bytes.NewReader(data)))
	if err != nil {
		return oursOrNone(data, fmt.Errorf("user data: MIME message: %w", err))
	}
	body, err := io.ReadAll(io.LimitReader(msg.Body, maxUserData))
	if err != nil {
		return oursOrNone(data, fmt.Errorf("user data: MIME message: %w", err))
	}
	doc, _, ok, err := fromPart(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), body, depth)
	return doc, ok, err
}

// fromPart returns the NodeConfig of a part; own tells it came from a part
// of MediaType (at any depth), which wins over a cloud-config part. A part
// that is not ours is skipped, whatever its state.
func fromPart(contentType, encoding string, body []byte, depth int) (doc []byte, own, ok bool, err error) {
	fail := func(err error) ([]byte, bool, bool, error) {
		if mentionsNodeConfig(body) || strings.Contains(contentType, MediaType) {
			return nil, false, false, err
		}
		return nil, false, false, nil
	}
	if depth > maxDepth {
		return fail(fmt.Errorf("user data: MIME parts nested too deep"))
	}
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return fail(fmt.Errorf("user data: Content-Type %q: %w", contentType, err))
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
		var cloudConfig []byte
		for {
			p, err := mr.NextRawPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				if cloudConfig != nil && !strings.Contains(string(body), MediaType) {
					break
				}
				return fail(fmt.Errorf("user data: multipart: %w", err))
			}
			raw, err := io.ReadAll(io.LimitReader(p, maxUserData))
			if err != nil {
				return fail(fmt.Errorf("user data: multipart: %w", err))
			}
			doc, own, ok, err := fromPart(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), raw, depth+1)
			if err != nil {
				return nil, false, false, err
			}
			if ok {
				if own {
					return doc, true, true, nil // our own part wins
				}
				if cloudConfig == nil {
					cloudConfig = doc
				}
			}
		}
		return cloudConfig, false, cloudConfig != nil, nil
	}
	if mt != MediaType && mt != "text/cloud-config" {
		return nil, false, false, nil // not ours: cloud-init's to judge
	}
	raw := body
	if strings.EqualFold(strings.TrimSpace(encoding), "base64") {
		if raw, err = base64.StdEncoding.DecodeString(strings.Join(strings.Fields(string(body)), "")); err != nil {
			if mt == MediaType {
				return nil, false, false, fmt.Errorf("user data: part %s: base64: %w", mt, err)
			}
			return fail(fmt.Errorf("user data: part %s: base64: %w", mt, err))
		}
	}
	if mt == MediaType {
		return raw, true, true, nil
	}
	doc, ok, err = fromCloudConfig(raw)
	return doc, false, ok, err
}

// cloudConfig is the part of #cloud-config kubebake reads.
type cloudConfig struct {
	WriteFiles []struct {
		Path     string `json:"path"`
		Content  string `json:"content"`
		Encoding string `json:"encoding"`
	} `json:"write_files"`
}

// fromCloudConfig finds the write_files entry for NodeConfigPath.
func fromCloudConfig(data []byte) ([]byte, bool, error) {
	var cc cloudConfig
	if err := yaml.Unmarshal(data, &cc); err != nil {
		if !bytes.Contains(data, []byte(NodeConfigPath)) {
			return nil, false, nil // not ours: cloud-init's to judge
		}
		return nil, false, fmt.Errorf("user data: #cloud-config: %s", strings.TrimPrefix(err.Error(), "error converting YAML to JSON: "))
	}
	for _, f := range cc.WriteFiles {
		if f.Path != NodeConfigPath {
			continue
		}
		content, err := decodeWriteFile(f.Content, f.Encoding)
		if err != nil {
			return nil, false, fmt.Errorf("user data: write_files %s: %w", f.Path, err)
		}
		return content, true, nil
	}
	return nil, false, nil
}

// decodeWriteFile decodes content as cloud-init's write_files does.
func decodeWriteFile(content, encoding string) ([]byte, error) {
	e := strings.ToLower(strings.TrimSpace(encoding))
	data := []byte(content)
	var err error
	if strings.Contains(e, "b64") || strings.Contains(e, "base64") {
		data, err = base64.StdEncoding.DecodeString(strings.Join(strings.Fields(content), ""))
		if err != nil {
			return nil, fmt.Errorf("base64: %w", err)
		}
	}
	if strings.HasPrefix(e, "gz") {
		return gunzip(data)
	}
	switch e {
	case "", "text/plain", "b64", "base64", "gz+b64", "gz+base64", "gzip+b64", "gzip+base64", "gz", "gzip":
		return data, nil
	}
	return nil, fmt.Errorf("unknown encoding %q", encoding)
}
