package source_test

import (
	"testing"

	"github.com/kubebake/kubebake/firstboot/source"
)

// FuzzFromUserData feeds arbitrary user data to FromUserData: it must not
// panic, and an error comes with nothing found.
//
//	go test ./firstboot/source -run '^$' -fuzz FuzzFromUserData -fuzztime 30s
func FuzzFromUserData(f *testing.F) {
	shell := part{Type: "text/x-shellscript", Body: "#!/bin/sh\necho hi\n"}
	for _, seed := range [][]byte{
		nil,
		[]byte(nodeDoc),
		[]byte(otherDoc),
		gz(f, nodeDoc),
		[]byte("#!/bin/sh\necho NodeConfig\n"),
		[]byte(cloudConfig(source.NodeConfigPath, "", nodeDoc)),
		[]byte(cloudConfig(source.NodeConfigPath, "b64", b64([]byte(nodeDoc)))),
		[]byte(cloudConfig(source.NodeConfigPath, "gz+b64", b64(gz(f, nodeDoc)))),
		[]byte(cloudConfig("/etc/other", "", nodeDoc)),
		[]byte(makeMIME),
		mimeMessage(f, shell, part{Type: source.MediaType, Body: nodeDoc}),
		mimeMessage(f, part{Type: source.MediaType, Encoding: "base64", Body: wrap76(b64([]byte(nodeDoc)))}),
		mimeMessage(f, shell, part{Parts: []part{shell, {Type: source.MediaType, Body: nodeDoc}}}),
		mimeMessage(f, part{Type: "text/cloud-config", Body: cloudConfig(source.NodeConfigPath, "b64", b64([]byte(nodeDoc)))}),
		mimeMessage(f, nested(6, part{Type: source.MediaType, Body: nodeDoc})),
		gz(f, string(mimeMessage(f, part{Type: source.MediaType, Body: nodeDoc}))),
		[]byte("Content-Type: multipart/mixed; boundary=XYZ\nMIME-Version: 1.0\n\n--XYZ\nContent-Type: text/plain\n\ncut short"),
		[]byte("Content-Type: " + source.MediaType + "\nContent-Transfer-Encoding: base64\n\n" + b64([]byte(nodeDoc))),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, ok, err := source.FromUserData(data)
		if err != nil {
			if ok || doc != nil {
				t.Fatalf("error %v with ok=%v doc=%q", err, ok, doc)
			}
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		if !ok && doc != nil {
			t.Fatalf("nothing found but doc=%q", doc)
		}
	})
}
