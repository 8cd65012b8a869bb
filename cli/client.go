package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ferrysync/ferry/internal/apiclient"
	"github.com/ferrysync/ferry/secrets"
)

func (g *globals) client() (*apiclient.Client, error) {
	key := g.key
	if key == "" {
		var err error
		if key, err = secrets.ReadAPIKey(g.data); err != nil {
			return nil, fmt.Errorf("no secret key: pass --key or FERRY_SECRET_KEY, or --data with the server's data dir: %w", err)
		}
	}
	return &apiclient.Client{Base: strings.TrimRight(g.url, "/"), Key: key, HTTP: &http.Client{Timeout: 5 * time.Minute}}, nil
}

// printJSON writes v indented.
func printJSON(w io.Writer, v any) error {
	if raw, ok := v.(json.RawMessage); ok {
		var buf bytes.Buffer
		if err := json.Indent(&buf, raw, "", "  "); err != nil {
			return err
		}
		buf.WriteByte('\n')
		_, err := w.Write(buf.Bytes())
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// readFileIn reads name in dir, saying which file failed.
func readFileIn(dir, name string) ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(dir, name))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s not found in %s", name, dir)
	}
	return b, err
}
