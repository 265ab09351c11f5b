package dnsreg

import (
	"reflect"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

func TestParseKeyFile(t *testing.T) {
	good := []struct {
		name string
		text string
		want []TSIGKey
	}{
		{"tsig-keygen output", `key "sofs-key" {
	algorithm hmac-sha256;
	secret "c29mcy10ZXN0LWtleQ==";
};
`, []TSIGKey{{Name: "sofs-key.", Algorithm: dns.HmacSHA256, Secret: "c29mcy10ZXN0LWtleQ=="}}},
		{"comments, unquoted name, fqdn, two keys", `# made by hand
key update.example. { // the update key
	secret "YWJj"; /* order
	does not matter */ algorithm HMAC-SHA512;
};
key "xfer" { algorithm hmac-md5.sig-alg.reg.int; secret "ZGVm"; };`, []TSIGKey{
			{Name: "update.example.", Algorithm: dns.HmacSHA512, Secret: "YWJj"},
			{Name: "xfer.", Algorithm: dns.HmacMD5, Secret: "ZGVm"},
		}},
	}
	for _, tc := range good {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseKeyFile(tc.text)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
	bad := map[string]string{
		"empty":              "",
		"no semicolon":       `key "k" { algorithm hmac-sha256; secret "YWJj"; }`,
		"unknown algorithm":  `key "k" { algorithm hmac-sha3; secret "YWJj"; };`,
		"bad base64":         `key "k" { algorithm hmac-sha256; secret "not base64!"; };`,
		"missing secret":     `key "k" { algorithm hmac-sha256; };`,
		"missing algorithm":  `key "k" { secret "YWJj"; };`,
		"duplicate key":      `key "k" { algorithm hmac-sha256; secret "YWJj"; }; key "k." { algorithm hmac-sha1; secret "YWJj"; };`,
		"unterminated":       `key "k { algorithm hmac-sha256;`,
		"open comment":       `/* key "k" { algorithm hmac-sha256; secret "YWJj"; };`,
		"unknown option":     `key "k" { algorithm hmac-sha256; secret "YWJj"; color blue; };`,
		"other statement":    `options { directory "/tmp"; };`,
		"escaped key name":   `key "a\.b" { algorithm hmac-sha256; secret "YWJj"; };`,
		"secret given twice": `key "k" { algorithm hmac-sha256; secret "YWJj"; secret "YWJj"; };`,
	}
	for name, text := range bad {
		t.Run(name, func(t *testing.T) {
			if keys, err := ParseKeyFile(text); err == nil {
				t.Errorf("parsed %q as %+v, want an error", text, keys)
			}
		})
	}
}

func TestParseKeyFileErrorsSayWhere(t *testing.T) {
	_, err := ParseKeyFile("key \"k\" {\n algorithm hmac-sha256;\n secret \"YWJj\"\n};")
	if err == nil || !strings.Contains(err.Error(), "line 4") {
		t.Errorf("error %v should point at line 4", err)
	}
}

// FuzzParseKeyFile: no input panics, and whatever parses survives FormatKeyFile and a
// second parse unchanged.
func FuzzParseKeyFile(f *testing.F) {
	f.Add(`key "sofs-key" { algorithm hmac-sha256; secret "c29mcy10ZXN0LWtleQ=="; };`)
	f.Add("key a.b. {\n secret \"YWJj\"; # x\n algorithm hmac-sha1; };\nkey c { algorithm hmac-md5; secret \"ZA==\"; };")
	f.Add(`/* c */ key "k" { algorithm hmac-sha224; secret "YQ=="; }; // end`)
	f.Add(`key "k" { algorithm hmac-sha256; secret "not base64"; }`)
	f.Fuzz(func(t *testing.T, text string) {
		keys, err := ParseKeyFile(text)
		if err != nil {
			return
		}
		again, err := ParseKeyFile(FormatKeyFile(keys))
		if err != nil {
			t.Fatalf("formatted keys do not parse: %v\n%s", err, FormatKeyFile(keys))
		}
		if !reflect.DeepEqual(keys, again) {
			t.Fatalf("round trip changed keys: %+v -> %+v", keys, again)
		}
	})
}
