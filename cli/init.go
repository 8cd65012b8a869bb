package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ferrysync/ferry/scaffold"
)

func newInitCmd(g *globals) *cobra.Command {
	var lang, sdk string
	cmd := &cobra.Command{
		Use:   "init --lang go|rust NAME",
		Short: "Create a plugin project in NAME that builds, tests and deploys as generated",
		Long: `Create a plugin project in the directory NAME (which must not exist or be empty): ferry.yaml,
source with an incremental sync and an action against Ferry's example provider, a Makefile,
a test of the sync against recorded HTTP exchanges, and a README. NAME's base name is the
integration id.

The project builds against Ferry's guest SDK by path (Go: a replace directive in go.mod;
Rust: a path dependency in Cargo.toml): --sdk DIR names the SDK's directory (sdk-guest/go or
sdk-guest/rust of a Ferry checkout); by default, the one next to the source this ferry
binary was built from, or next to the binary's own directory.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if lang == "" {
				return fmt.Errorf("init: --lang is required (%s)", strings.Join(scaffold.Languages, " or "))
			}
			if !slices.Contains(scaffold.Languages, lang) {
				return fmt.Errorf("init: unknown language %q (want %s)", lang, strings.Join(scaffold.Languages, " or "))
			}
			if sdk == "" {
				var err error
				if sdk, err = findSDK(lang); err != nil {
					return err
				}
			}
			files, err := scaffold.Create(lang, args[0], sdk)
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "created %s (%s, SDK %s):\n", args[0], lang, sdk)
			for _, f := range files {
				fmt.Fprintf(g.stdout, "  %s\n", f)
			}
			fmt.Fprintf(g.stdout, "next: cd %s && make build && make test; then make dryrun, make deploy (see its README.md)\n", args[0])
			return nil
		},
	}
	cmd.Flags().StringVar(&lang, "lang", "", "the plugin's language: "+strings.Join(scaffold.Languages, " or "))
	cmd.Flags().StringVar(&sdk, "sdk", "", "the guest SDK's directory (default: found next to this binary's source or the binary)")
	return cmd
}

// findSDK finds the guest SDK for lang in the Ferry checkout this binary was built from (the
// source path compiled in, unless built with -trimpath), or next to the binary (bin/ferry in
// a checkout).
func findSDK(lang string) (string, error) {
	var roots []string
	if _, file, _, ok := goruntime.Caller(0); ok && filepath.IsAbs(file) {
		roots = append(roots, filepath.Dir(filepath.Dir(file))) // cli/init.go -> the checkout
	}
	if exe, err := os.Executable(); err == nil {
		if exe, err = filepath.EvalSymlinks(exe); err == nil {
			roots = append(roots, filepath.Dir(filepath.Dir(exe))) // bin/ferry -> the checkout
		}
	}
	for _, root := range roots {
		dir := filepath.Join(root, "sdk-guest", lang)
		if info, err := os.Stat(dir); err == nil && info.IsDir() {
			return dir, nil
		}
	}
	if len(roots) == 0 {
		return "", errors.New("init: cannot tell where this ferry binary comes from; pass --sdk DIR")
	}
	return "", fmt.Errorf("init: no %s SDK found in %s; pass --sdk DIR (sdk-guest/%s of a Ferry checkout)",
		lang, strings.Join(roots, " or "), lang)
}
