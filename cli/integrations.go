package cli

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

func newIntegrationsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "integrations",
		Aliases: []string{"integration"},
		Short:   "List, inspect and roll back deployed integrations",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			var out struct {
				Integrations []struct {
					ID            string    `json:"id"`
					ActiveVersion int       `json:"active_version"`
					LatestVersion int       `json:"latest_version"`
					UpdatedAt     time.Time `json:"updated_at"`
				} `json:"integrations"`
			}
			if err := c.GetJSON(cmd.Context(), "/v1/integrations", &out); err != nil {
				return err
			}
			tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "INTEGRATION\tACTIVE\tLATEST\tUPDATED")
			for _, in := range out.Integrations {
				fmt.Fprintf(tw, "%s\t%d\t%d\t%s\n", in.ID, in.ActiveVersion, in.LatestVersion, in.UpdatedAt.Format(time.RFC3339))
			}
			return tw.Flush()
		},
	}
	cmd.AddCommand(
		&cobra.Command{
			Use:   "show INTEGRATION",
			Short: "Show an integration and its active manifest",
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				return getAndPrint(cmd, g, "/v1/integrations/"+url.PathEscape(args[0]))
			},
		},
		&cobra.Command{
			Use:   "versions INTEGRATION",
			Short: "List an integration's versions",
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				return getAndPrint(cmd, g, "/v1/integrations/"+url.PathEscape(args[0])+"/versions")
			},
		},
		&cobra.Command{
			Use:   "rollback INTEGRATION VERSION",
			Short: "Make an earlier version active again",
			Args:  cobra.ExactArgs(2),
			RunE: func(cmd *cobra.Command, args []string) error {
				v, err := strconv.Atoi(args[1])
				if err != nil {
					return fmt.Errorf("version %q is not a number", args[1])
				}
				c, err := g.client()
				if err != nil {
					return err
				}
				var out json.RawMessage
				if err := c.SendJSON(cmd.Context(), "POST", "/v1/integrations/"+url.PathEscape(args[0])+"/rollback", map[string]int{"version": v}, &out); err != nil {
					return err
				}
				fmt.Fprintf(g.stdout, "%s: version %d is active\n", args[0], v)
				return nil
			},
		},
	)
	return cmd
}

// getAndPrint prints the JSON answer of a GET.
func getAndPrint(cmd *cobra.Command, g *globals, path string) error {
	c, err := g.client()
	if err != nil {
		return err
	}
	var out json.RawMessage
	if err := c.GetJSON(cmd.Context(), path, &out); err != nil {
		return err
	}
	return printJSON(g.stdout, out)
}
