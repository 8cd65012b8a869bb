package main

import (
	"maps"
	"strings"
	"testing"
)

func TestProviderFields(t *testing.T) {
	in := map[string]string{"email": "mary@nasa.example", "first_name": "Mary", "last_name": "Jackson", "company": "NASA"}
	tests := []struct {
		name    string
		mapping map[string]string
		want    map[string]string
		wantErr string
	}{
		{
			name:    "no mapping: same names",
			mapping: nil,
			want:    in,
		},
		{
			name:    "company sent as title",
			mapping: map[string]string{"company": "title"},
			want:    map[string]string{"email": "mary@nasa.example", "first_name": "Mary", "last_name": "Jackson", "title": "NASA"},
		},
		{
			name:    "identity and drop",
			mapping: map[string]string{"first_name": "first_name", "company": ""},
			want:    map[string]string{"email": "mary@nasa.example", "first_name": "Mary", "last_name": "Jackson"},
		},
		{
			name:    "mapping of a field the input lacks",
			mapping: map[string]string{"phone": "phone"},
			want:    in,
		},
		{
			name:    "two fields onto one",
			mapping: map[string]string{"first_name": "notes", "company": "notes"},
			wantErr: `field_mapping sends both "company" and "first_name" as the provider's "notes"`,
		},
		{
			name:    "onto a field another keeps",
			mapping: map[string]string{"company": "email"},
			wantErr: `field_mapping sends both "company" and "email" as the provider's "email"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := providerFields(in, tt.mapping)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}
