package cli

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/spf13/cobra"
)

func newConnectionCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "connection",
		Aliases: []string{"connections"},
		Short:   "Create, update, show, list and delete connections",
	}
	var (
		creds    []string
		metadata string
		baseURL  string
		// webhookSecret checks the provider's webhook signatures.
		webhookSecret string
	)
	put := &cobra.Command{
		Use:   "put INTEGRATION CONNECTION",
		Short: "Create or update a connection (flags left out keep their values)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := map[string]any{}
			if cmd.Flags().Changed("cred") {
				m := map[string]string{}
				for _, kv := range creds {
					k, v, ok := strings.Cut(kv, "=")
					if !ok || k == "" {
						return fmt.Errorf("--cred %q: want name=value", kv)
					}
					m[k] = v
				}
				req["credentials"] = m
			}
			if cmd.Flags().Changed("metadata") {
				if !json.Valid([]byte(metadata)) {
					return fmt.Errorf("--metadata is not valid JSON")
				}
				req["metadata"] = json.RawMessage(metadata)
			}
			if cmd.Flags().Changed("base-url") {
				req["base_url"] = baseURL
			}
			if cmd.Flags().Changed("webhook-secret") {
				req["webhook_secret"] = webhookSecret
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			var out json.RawMessage
			if err := c.SendJSON(cmd.Context(), http.MethodPut, connPath(args[0], args[1]), req, &out); err != nil {
				return err
			}
			return printJSON(g.stdout, out)
		},
	}
	put.Flags().StringArrayVar(&creds, "cred", nil, "credential name=value (repeatable): token for bearer, value for header and query, username and password for basic")
	put.Flags().StringVar(&metadata, "metadata", "", "metadata, a JSON object")
	put.Flags().StringVar(&baseURL, "base-url", "", "this connection's own base URL")
	put.Flags().StringVar(&webhookSecret, "webhook-secret", "", "the secret the provider signs its webhooks to this connection with (\"\" removes it)")

	cmd.AddCommand(put,
		&cobra.Command{
			Use:   "get INTEGRATION CONNECTION",
			Short: "Show a connection (never its credentials)",
			Args:  cobra.ExactArgs(2),
			RunE: func(cmd *cobra.Command, args []string) error {
				return getAndPrint(cmd, g, connPath(args[0], args[1]))
			},
		},
		&cobra.Command{
			Use:   "list [INTEGRATION]",
			Short: "List connections",
			Args:  cobra.MaximumNArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				path := "/v1/connections"
				if len(args) == 1 {
					path += "?integration=" + url.QueryEscape(args[0])
				}
				return getAndPrint(cmd, g, path)
			},
		},
		&cobra.Command{
			Use:   "delete INTEGRATION CONNECTION",
			Short: "Delete a connection with its records",
			Args:  cobra.ExactArgs(2),
			RunE: func(cmd *cobra.Command, args []string) error {
				c, err := g.client()
				if err != nil {
					return err
				}
				if err := c.Do(cmd.Context(), http.MethodDelete, connPath(args[0], args[1]), nil, "", nil); err != nil {
					return err
				}
				fmt.Fprintf(g.stdout, "deleted %s/%s and its records\n", args[0], args[1])
				return nil
			},
		},
	)
	return cmd
}

func connPath(integration, connection string) string {
	return "/v1/connections/" + url.PathEscape(integration) + "/" + url.PathEscape(connection)
}
