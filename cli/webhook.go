package cli

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

func newWebhookCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "webhook",
		Short: "Set and show the app's webhook, and list its deliveries",
	}
	var secret, secretFile string
	set := &cobra.Command{
		Use:   "set URL",
		Short: "Set the URL Ferry POSTs webhooks to, and the secret that signs them",
		Long: "Set the URL Ferry POSTs webhooks to, and the secret (at least 16 bytes) that signs them.\n" +
			"--secret-file keeps the secret out of the process list and shell history; a trailing\n" +
			"newline in the file is ignored, and - reads the secret from standard input.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := webhookSecret(g, cmd, secret, secretFile)
			if err != nil {
				return err
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			var out json.RawMessage
			if err := c.SendJSON(cmd.Context(), http.MethodPut, "/v1/webhook", map[string]string{"url": args[0], "secret": s}, &out); err != nil {
				return err
			}
			return printJSON(g.stdout, out)
		},
	}
	set.Flags().StringVar(&secret, "secret", "", "the signing secret")
	set.Flags().StringVar(&secretFile, "secret-file", "", "read the signing secret from this file (- for standard input)")
	set.MarkFlagsMutuallyExclusive("secret", "secret-file")
	set.MarkFlagsOneRequired("secret", "secret-file")

	show := &cobra.Command{
		Use:   "show",
		Short: "Show the webhook's URL (never its secret)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return getAndPrint(cmd, g, "/v1/webhook")
		},
	}
	cmd.AddCommand(set, show, newDeliveriesCmd(g))
	return cmd
}

// webhookSecret returns the secret given by --secret or read from --secret-file.
func webhookSecret(g *globals, cmd *cobra.Command, secret, file string) (string, error) {
	if !cmd.Flags().Changed("secret-file") {
		return secret, nil
	}
	var b []byte
	var err error
	if file == "-" {
		b, err = io.ReadAll(io.LimitReader(g.stdin, 1<<20))
	} else {
		b, err = os.ReadFile(file)
	}
	if err != nil {
		return "", fmt.Errorf("read the webhook secret: %w", err)
	}
	s := strings.TrimRight(string(b), "\r\n")
	if s == "" {
		return "", errors.New("read the webhook secret: " + file + " is empty")
	}
	return s, nil
}

func newDeliveriesCmd(g *globals) *cobra.Command {
	var status string
	var limit int
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "deliveries",
		Short: "List webhook deliveries, newest first: pending, delivered, failed with the last error",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			q := url.Values{"limit": {strconv.Itoa(limit)}}
			if status != "" {
				q.Set("status", status)
			}
			var raw json.RawMessage
			if err := c.GetJSON(cmd.Context(), "/v1/webhook/deliveries?"+q.Encode(), &raw); err != nil {
				return err
			}
			if asJSON {
				return printJSON(g.stdout, raw)
			}
			var out struct {
				Deliveries []struct {
					ID            string     `json:"id"`
					Type          string     `json:"type"`
					RunID         string     `json:"run_id"`
					Status        string     `json:"status"`
					Attempts      int        `json:"attempts"`
					NextAttemptAt *time.Time `json:"next_attempt_at"`
					LastError     string     `json:"last_error"`
					CreatedAt     time.Time  `json:"created_at"`
					DeliveredAt   *time.Time `json:"delivered_at"`
				} `json:"deliveries"`
			}
			if err := json.Unmarshal(raw, &out); err != nil {
				return fmt.Errorf("bad answer: %w", err)
			}
			tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "DELIVERY\tTYPE\tRUN\tSTATUS\tATTEMPTS\tCREATED\tNEXT ATTEMPT\tDELIVERED\tLAST ERROR")
			for _, d := range out.Deliveries {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n", d.ID, d.Type, d.RunID, d.Status, d.Attempts,
					d.CreatedAt.Local().Format(time.DateTime), orDash(d.NextAttemptAt), orDash(d.DeliveredAt), cmp.Or(firstLine(d.LastError, 60), "-"))
			}
			return tw.Flush()
		},
	}
	f := cmd.Flags()
	f.StringVar(&status, "status", "", "only deliveries in this status: pending, delivered or failed")
	f.IntVar(&limit, "limit", 20, "at most this many deliveries")
	f.BoolVar(&asJSON, "json", false, "print JSON, bodies included")
	return cmd
}

// orDash formats t in local time, or "-" when it is not set.
func orDash(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Local().Format(time.DateTime)
}
