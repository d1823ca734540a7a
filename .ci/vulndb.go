// Command vulndb builds a local Go vulnerability database for
// `govulncheck -db file:///DIR` from the module golang.org/x/vulndb, fetched
// through the Go module proxy, so that CI needs no access to
// https://vuln.go.dev (which a machine that reaches only the module proxy
// cannot resolve).
//
//	go run .ci/vulndb.go -version V -sum h1:... -out DIR
//
// The module is downloaded with `go mod download` (checksum verified against
// the checksum database, and then against -sum, the pin). Its data/osv holds
// the OSV entries that vuln.go.dev serves. They are laid out as the v1 API of
// https://go.dev/security/vuln/database:
//
//	DIR/index/db.json       {"modified": T}
//	DIR/index/modules.json  [{"path": M, "vulns": [{"id": ID, "modified": T}]}]
//	DIR/ID/<ID>.json        the OSV entry, byte for byte
//
// The optional "fixed" field of modules.json is left out: govulncheck then
// reads every entry of a module it depends on and matches versions with the
// entry's own ranges (golang.org/x/vuln internal/client byModule and
// internal/vulncheck affected), as it does after the "fixed" pre-filter.
// The entries in the repository carry no "modified" time (the published
// database sets it from git history), so db.json gets the commit time of
// the golang.org/x/vulndb version.
//
// Standard library only, so that `go run` needs nothing beyond the toolchain.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"time"
)

const modulePath = "golang.org/x/vulndb"

type entry struct {
	ID       string    `json:"id"`
	Modified time.Time `json:"modified"`
	Affected []struct {
		Package struct {
			Name string `json:"name"`
		} `json:"package"`
	} `json:"affected"`
}

type moduleVuln struct {
	ID       string    `json:"id"`
	Modified time.Time `json:"modified"`
}

type module struct {
	Path  string       `json:"path"`
	Vulns []moduleVuln `json:"vulns"`
}

func main() {
	version := flag.String("version", "", "version of "+modulePath)
	sum := flag.String("sum", "", "its go.sum hash (h1:...), the pin")
	out := flag.String("out", "", "directory to write the database into (must not exist)")
	flag.Parse()
	if *version == "" || *sum == "" || *out == "" {
		fmt.Fprintln(os.Stderr, "vulndb: -version, -sum and -out are required")
		os.Exit(2)
	}
	dir, modified, err := download(*version, *sum)
	if err == nil {
		err = build(filepath.Join(dir, "data", "osv"), *out, modified)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "vulndb:", err)
		os.Exit(1)
	}
}

// download fetches the module into the module cache and returns its
// directory and commit time.
func download(version, sum string) (string, time.Time, error) {
	// Outside any module, so that no go.mod is read or changed.
	tmp, err := os.MkdirTemp("", "vulndb")
	if err != nil {
		return "", time.Time{}, err
	}
	defer os.RemoveAll(tmp)
	cmd := exec.Command("go", "mod", "download", "-json", modulePath+"@"+version)
	cmd.Dir = tmp
	cmd.Stderr = os.Stderr
	b, err := cmd.Output()
	var m struct{ Dir, Sum, Info, Error string }
	if jerr := json.Unmarshal(b, &m); jerr != nil || m.Error != "" || err != nil {
		return "", time.Time{}, fmt.Errorf("go mod download %s@%s: %v %s", modulePath, version, err, m.Error)
	}
	if m.Sum != sum {
		return "", time.Time{}, fmt.Errorf("%s@%s has hash %s, pinned %s", modulePath, version, m.Sum, sum)
	}
	b, err = os.ReadFile(m.Info)
	if err != nil {
		return "", time.Time{}, err
	}
	var info struct{ Time time.Time }
	if err := json.Unmarshal(b, &info); err != nil {
		return "", time.Time{}, fmt.Errorf("%s: %w", m.Info, err)
	}
	return m.Dir, info.Time, nil
}

func build(src, out string, dbTime time.Time) error {
	names, err := filepath.Glob(filepath.Join(src, "GO-*.json"))
	if err != nil {
		return err
	}
	if len(names) == 0 {
		return fmt.Errorf("%s: no GO-*.json entries", src)
	}
	if _, err := os.Stat(out); err == nil {
		return fmt.Errorf("%s already exists", out)
	}
	for _, dir := range []string{"index", "ID"} {
		if err := os.MkdirAll(filepath.Join(out, dir), 0o755); err != nil {
			return err
		}
	}
	modules := map[string]*module{}
	for _, name := range names {
		b, err := os.ReadFile(name)
		if err != nil {
			return err
		}
		var e entry
		if err := json.Unmarshal(b, &e); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if filepath.Base(name) != e.ID+".json" {
			return fmt.Errorf("%s: entry id is %q", name, e.ID)
		}
		if e.Modified.After(dbTime) {
			dbTime = e.Modified
		}
		seen := map[string]bool{}
		for _, a := range e.Affected {
			path := a.Package.Name
			if path == "" || seen[path] {
				continue
			}
			seen[path] = true
			m := modules[path]
			if m == nil {
				m = &module{Path: path}
				modules[path] = m
			}
			m.Vulns = append(m.Vulns, moduleVuln{ID: e.ID, Modified: e.Modified})
		}
		if err := os.WriteFile(filepath.Join(out, "ID", e.ID+".json"), b, 0o644); err != nil {
			return err
		}
	}
	list := make([]*module, 0, len(modules))
	for _, m := range modules {
		sort.Slice(m.Vulns, func(i, j int) bool { return m.Vulns[i].ID < m.Vulns[j].ID })
		list = append(list, m)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Path < list[j].Path })
	if err := writeJSON(filepath.Join(out, "index", "modules.json"), list); err != nil {
		return err
	}
	if err := writeJSON(filepath.Join(out, "index", "db.json"), map[string]time.Time{"modified": dbTime}); err != nil {
		return err
	}
	fmt.Printf("vulndb: %s: %d entries, %d modules, data of %s\n", src, len(names), len(list), dbTime.Format(time.RFC3339))
	return nil
}

func writeJSON(name string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return os.WriteFile(name, append(b, '\n'), 0o644)
}
