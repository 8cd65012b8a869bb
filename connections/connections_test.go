package connections

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckCredentials(t *testing.T) {
	tests := []struct {
		auth  string
		creds map[string]string
		want  string // "" for accepted
	}{
		{"bearer", map[string]string{"token": "t"}, ""},
		{"bearer", map[string]string{}, `missing credential "token" (auth type bearer takes token)`},
		{"bearer", map[string]string{"token": ""}, `missing credential "token"`},
		{"bearer", map[string]string{"token": "t", "secret": "s"}, `unknown credential "secret"`},
		{"header", map[string]string{"value": "v"}, ""},
		{"query", map[string]string{"token": "v"}, `missing credential "value", unknown credential "token"`},
		{"basic", map[string]string{"username": "u"}, ""},
		{"basic", map[string]string{"username": "u", "password": "p"}, ""},
		{"basic", map[string]string{"password": "p"}, `missing credential "username"`},
		{"none", nil, ""},
		{"none", map[string]string{"token": "t"}, `unknown credential "token" (auth type none takes no credentials)`},
		{"oauth", nil, `unknown auth type "oauth"`},
	}
	for _, tt := range tests {
		err := CheckCredentials(tt.auth, tt.creds)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s %v: %v", tt.auth, tt.creds, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, ErrInvalid)):
			t.Errorf("%s %v: err = %v, want ErrInvalid containing %q", tt.auth, tt.creds, err, tt.want)
		}
	}
}
