package colname

import "testing"

func TestKey(t *testing.T) {
	for in, want := range map[string]string{
		"Hair Color": "haircolor", "hair_color": "haircolor", "ｈａｉｒ＿ｃｏｌｏｒ": "haircolor",
		"Téléphone": "telephone", "Móvil": "movil", "Telemóvel": "telemovel", "E.164": "e164", "": "",
	} {
		if got := Key(in); got != want {
			t.Errorf("Key(%q) = %q, want %q", in, got, want)
		}
	}
}
