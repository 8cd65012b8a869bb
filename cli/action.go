package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/spf13/cobra"
)

func newActionCmd(g *globals) *cobra.Command {
	var (
		input       string
		async, wait bool
		maxAttempts int
	)
	cmd := &cobra.Command{
		Use:   "action INTEGRATION CONNECTION ACTION",
		Short: "Run an action and print its output (--async: queue it and print its call id)",
		Args:  cobra.ExactArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !json.Valid([]byte(input)) {
				return fmt.Errorf("--input is not valid JSON")
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			path := "/v1/actions/" + url.PathEscape(args[0]) + "/" + url.PathEscape(args[1]) + "/" + url.PathEscape(args[2])
			if async {
				path += "?async=true&max_attempts=" + strconv.Itoa(maxAttempts)
			}
			var out json.RawMessage
			if err := c.Do(cmd.Context(), http.MethodPost, path, bytes.NewReader([]byte(input)), "application/json", &out); err != nil {
				return err
			}
			if !async {
				return printJSON(g.stdout, out)
			}
			var queued struct {
				ID string `json:"id"`
			}
			if err := json.Unmarshal(out, &queued); err != nil {
				return err
			}
			if !wait {
				fmt.Fprintf(g.stdout, "call %s queued\n", queued.ID)
				return nil
			}
			for delay := 50 * time.Millisecond; ; delay = min(2*delay, time.Second) {
				var call struct {
					Status string          `json:"status"`
					Output json.RawMessage `json:"output"`
					Error  string          `json:"error"`
				}
				if err := c.GetJSON(cmd.Context(), "/v1/actions/calls/"+queued.ID, &call); err != nil {
					return err
				}
				switch call.Status {
				case "succeeded":
					return printJSON(g.stdout, orNull(call.Output))
				case "failed", "cancelled":
					return &exitError{code: 1, err: fmt.Errorf("call %s %s: %s", queued.ID, call.Status, call.Error)}
				}
				select {
				case <-cmd.Context().Done():
					return cmd.Context().Err()
				case <-time.After(delay):
				}
			}
		},
	}
	f := cmd.Flags()
	f.StringVar(&input, "input", "{}", "the action's input, JSON")
	f.BoolVar(&async, "async", false, "queue the call; failed attempts are retried and the app gets an action.* webhook")
	f.BoolVar(&wait, "wait", false, "with --async: wait for the call to end and print its output")
	f.IntVar(&maxAttempts, "max-attempts", 3, "with --async: attempts at most")
	return cmd
}

// orNull gives "null" for an empty output.
func orNull(out json.RawMessage) json.RawMessage {
	if len(out) == 0 {
		return json.RawMessage("null")
	}
	return out
}

func newLinksCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "links", Short: "Read and write data links (app id ↔ external id)"}
	path := func(args []string) string {
		p := "/v1/links/" + url.PathEscape(args[0]) + "/" + url.PathEscape(args[1]) + "/" + url.PathEscape(args[2])
		if len(args) > 3 {
			p += "/" + url.PathEscape(args[3])
		}
		return p
	}
	var external string
	get := &cobra.Command{
		Use:   "get INTEGRATION CONNECTION MODEL [APP_ID] [--external-id ID]",
		Short: "Show the link of an app id, or of an external id",
		Args:  cobra.RangeArgs(3, 4),
		RunE: func(cmd *cobra.Command, args []string) error {
			if (len(args) == 4) == (external != "") {
				return fmt.Errorf("give an APP_ID or --external-id, not both")
			}
			p := path(args)
			if external != "" {
				p += "?external_id=" + url.QueryEscape(external)
			}
			return getAndPrint(cmd, g, p)
		},
	}
	get.Flags().StringVar(&external, "external-id", "", "look the link up by the external id")
	cmd.AddCommand(get,
		&cobra.Command{
			Use:   "put INTEGRATION CONNECTION MODEL APP_ID EXTERNAL_ID",
			Short: "Link an app id to an external id",
			Args:  cobra.ExactArgs(5),
			RunE: func(cmd *cobra.Command, args []string) error {
				c, err := g.client()
				if err != nil {
					return err
				}
				var out json.RawMessage
				if err := c.SendJSON(cmd.Context(), http.MethodPut, path(args[:4]), map[string]string{"external_id": args[4]}, &out); err != nil {
					return err
				}
				return printJSON(g.stdout, out)
			},
		},
		&cobra.Command{
			Use:   "delete INTEGRATION CONNECTION MODEL APP_ID",
			Short: "Remove the link of an app id",
			Args:  cobra.ExactArgs(4),
			RunE: func(cmd *cobra.Command, args []string) error {
				c, err := g.client()
				if err != nil {
					return err
				}
				return c.Do(cmd.Context(), http.MethodDelete, path(args), nil, "", nil)
			},
		},
	)
	return cmd
}
