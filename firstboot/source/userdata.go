// Package source finds the NodeConfig of a first boot: an explicit file,
// cloud-init user data (a MIME part of its own type, a raw NodeConfig, or a
// #cloud-config that writes /etc/kubebake/node.yaml), EC2 IMDSv2 user data,
// or the file Ignition wrote. The first source that has one wins.
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
	case nodeconfig.LooksLike(trimmed):
		return trimmed, true, nil
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
	out, err := io.ReadAll(io.LimitReader(zr, maxUserData))
	if err != nil {
		return nil, fmt.Errorf("gzipped user data: %w", err)
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

// fromMIME walks a MIME message (nested multiparts too) for a part of
// MediaType, or a cloud-config part that writes the NodeConfig.
func fromMIME(data []byte, depth int) ([]byte, bool, error) {
	if depth > 4 {
		return nil, false, fmt.Errorf("user data: MIME parts nested too deep")
	}
	msg, err := mail.ReadMessage(bufio.NewReader(bytes.NewReader(data)))
	if err != nil {
		return nil, false, fmt.Errorf("user data: MIME message: %w", err)
	}
	doc, _, ok, err := fromPart(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body, depth)
	return doc, ok, err
}

// fromPart returns the NodeConfig of a part; own tells it came from a part
// of MediaType (at any depth), which wins over a cloud-config part.
func fromPart(contentType, encoding string, body io.Reader, depth int) (doc []byte, own, ok bool, err error) {
	if depth > 4 {
		return nil, false, false, fmt.Errorf("user data: MIME parts nested too deep")
	}
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return nil, false, false, fmt.Errorf("user data: Content-Type %q: %w", contentType, err)
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		var cloudConfig []byte
		for {
			p, err := mr.NextRawPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, false, false, fmt.Errorf("user data: multipart: %w", err)
			}
			doc, own, ok, err := fromPart(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p, depth+1)
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
	raw, err := io.ReadAll(io.LimitReader(body, maxUserData))
	if err != nil {
		return nil, false, false, fmt.Errorf("user data: part %s: %w", mt, err)
	}
	if strings.EqualFold(strings.TrimSpace(encoding), "base64") {
		raw, err = base64.StdEncoding.DecodeString(strings.Join(strings.Fields(string(raw)), ""))
		if err != nil {
			return nil, false, false, fmt.Errorf("user data: part %s: base64: %w", mt, err)
		}
	}
	switch mt {
	case MediaType:
		return raw, true, true, nil
	case "text/cloud-config":
		doc, ok, err := fromCloudConfig(raw)
		return doc, false, ok, err
	}
	return nil, false, false, nil
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
