package cli

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"

	"github.com/goccy/go-yaml"
	"github.com/spf13/cobra"

	"github.com/ferrysync/ferry/api"
	"github.com/ferrysync/ferry/internal/apiclient"
	"github.com/ferrysync/ferry/plugins"
)

func newDeployCmd(g *globals) *cobra.Command {
	var force, dryRun bool
	cmd := &cobra.Command{
		Use:   "deploy [DIR]",
		Short: "Upload the plugin in DIR (its ferry.yaml and wasm) as a new version",
		Long: `Upload the plugin in DIR (its ferry.yaml and wasm) as a new version, and print what it changed
against the version active before (syncs, actions and models added or removed, a sync's type
or frequency changed...). A version that removes a sync or a model is refused, and nothing is
stored, unless --force; --dry-run only checks the plugin and shows the changes.`,
		Args: cobra.MaximumNArgs(1),
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
			body, contentType, err := apiclient.DeployForm(manifest, filepath.Base(m.Wasm), wasm, force, dryRun)
			if err != nil {
				return err
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			if dryRun {
				var plan plugins.Plan
				if err := c.Do(cmd.Context(), http.MethodPost, "/v1/integrations", body, contentType, &plan); err != nil {
					return err
				}
				if plan.Active == 0 {
					fmt.Fprintf(g.stdout, "%s is a new integration\n", plan.Integration)
				} else {
					printChanges(g.stdout, fmt.Sprintf("%s version %d", plan.Integration, plan.Active), plan.Changes)
				}
				if plan.Destructive && !force {
					fmt.Fprintln(g.stdout, "a deploy would be refused: it removes a sync or a model (pass --force to deploy it anyway)")
				}
				return nil
			}
			var out struct {
				Integration string          `json:"integration"`
				Version     int             `json:"version"`
				WasmSHA256  string          `json:"wasm_sha256"`
				WasmSize    int64           `json:"wasm_size"`
				Changes     plugins.Changes `json:"changes"`
			}
			err = c.Do(cmd.Context(), http.MethodPost, "/v1/integrations", body, contentType, &out)
			var apiErr *apiclient.Error
			if errors.As(err, &apiErr) && apiErr.Code == api.CodeDestructive {
				return fmt.Errorf("%s\n(pass --force to deploy it anyway, --dry-run to only show the changes)", apiErr.Message)
			}
			if err != nil {
				return err
			}
			if out.Version > 1 {
				printChanges(g.stdout, "the version active before", out.Changes)
			}
			fmt.Fprintf(g.stdout, "deployed %s version %d (%d bytes, sha256 %.12s)\n", out.Integration, out.Version, out.WasmSize, out.WasmSHA256)
			return nil
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "deploy even if the new version removes a sync or a model")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "check the plugin and show what it changes, deploy nothing")
	return cmd
}

// printChanges shows what a new version changes against the one active before it.
func printChanges(w io.Writer, against string, changes plugins.Changes) {
	if len(changes) == 0 {
		fmt.Fprintf(w, "no change to syncs, actions or models against %s\n", against)
		return
	}
	fmt.Fprintf(w, "changes against %s:\n", against)
	for _, c := range changes {
		fmt.Fprintf(w, "  %s\n", c)
	}
}
