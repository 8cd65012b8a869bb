package cli

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"net/http"
	"path/filepath"

	"github.com/goccy/go-yaml"
	"github.com/spf13/cobra"
)

func newDeployCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "deploy [DIR]",
		Short: "Upload the plugin in DIR (its ferry.yaml and wasm) as a new version",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			manifest, err := readFileIn(dir, "ferry.yaml")
			if err != nil {
				return err
			}
			// Only the module's path is needed here; the server checks everything else.
			var m struct {
				Wasm string `yaml:"wasm"`
			}
			if err := yaml.Unmarshal(manifest, &m); err != nil {
				return fmt.Errorf("%s: %w", filepath.Join(dir, "ferry.yaml"), err)
			}
			if m.Wasm == "" {
				return fmt.Errorf("%s: no wasm: path given", filepath.Join(dir, "ferry.yaml"))
			}
			wasm, err := readFileIn(dir, m.Wasm)
			if err != nil {
				return fmt.Errorf("%w (build the plugin first)", err)
			}
			var body bytes.Buffer
			mw := multipart.NewWriter(&body)
			for _, part := range []struct {
				name, file string
				data       []byte
			}{{"manifest", "ferry.yaml", manifest}, {"wasm", filepath.Base(m.Wasm), wasm}} {
				w, err := mw.CreateFormFile(part.name, part.file)
				if err != nil {
					return err
				}
				if _, err := w.Write(part.data); err != nil {
					return err
				}
			}
			if err := mw.Close(); err != nil {
				return err
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			var out struct {
				Integration string `json:"integration"`
				Version     int    `json:"version"`
				WasmSHA256  string `json:"wasm_sha256"`
				WasmSize    int64  `json:"wasm_size"`
			}
			if err := c.do(cmd.Context(), http.MethodPost, "/v1/integrations", &body, mw.FormDataContentType(), &out); err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "deployed %s version %d (%d bytes, sha256 %.12s)\n", out.Integration, out.Version, out.WasmSize, out.WasmSHA256)
			return nil
		},
	}
}
